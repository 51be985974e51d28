"""Releasing is shared between nodes (issue 13, item 8): each takes versions due from the store, leased to
it, so two nodes release at once and no version is rendered or queued twice. Progress is counted per stage."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import threading

from conftest import Workspace
from test_ledger import workspace_with
from wirepub.logs import setup_logging
from wirepub.progress import LogLines, Stage
from wirepub.publisher import Publisher
from wirepub.reports import PushReport


def test_two_nodes_release_at_once_and_nothing_twice(tmp_path, store_url, story_doc):
    ws = workspace_with(tmp_path, store_url)
    for i in range(240):
        ws.drop(f"s{i:03}.json", story_doc(id=f"s{i:03}", version_created=f"2026-11-25T10:{i // 60:02}:{i % 60:02}Z"))
    reader = Publisher(ws.config, ws.store, clock=ws.clock)
    reader.intake.run(PushReport())                    # recorded, not yet released
    nodes = [Publisher(dataclasses.replace(ws.config, daemon=dataclasses.replace(ws.config.daemon, node=f"n{i}")),
                       ws.store, clock=ws.clock) for i in (1, 2)]
    reports = [PushReport(), PushReport()]
    threads = [threading.Thread(target=lambda i=i: nodes[i]._release_claimed(ws.clock.now(), reports[i], LogLines(),
                                                                             early=False)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    released = reports[0].released + reports[1].released
    assert len(released) == len(set(released)) == 240            # each version once, by one node or the other
    assert ws.store.versions.count_due(ws.clock.now()) == 0
    assert ws.store.reads.counts()["deliveries"] == 240           # one item each: none queued twice
    ws.store.close()


def test_progress_lines_off_a_terminal_say_stage_count_total_and_rate():
    stream = io.StringIO()
    setup_logging(logging.WARNING, stream=stream, json_lines=True)
    lines = LogLines(every=0.0)
    lines.start(Stage.RENDER, 3)
    for _ in range(3):
        lines.advance(Stage.RENDER)
    lines.finish(Stage.RENDER)
    said = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert said[-1]["msg"] == "progress" and said[-1]["stage"] == "render"
    assert said[-1]["done"] == 3 and said[-1]["total"] == 3 and said[-1]["per_second"] > 0
    setup_logging(logging.WARNING)


def test_a_push_counts_every_stage(tmp_path, story_doc):
    ws = Workspace(tmp_path)
    for i in range(5):
        ws.drop(f"s{i}.json", story_doc(id=f"s{i}"))

    class Counting:
        def __init__(self) -> None:
            self.totals: dict[Stage, int | None] = {}
            self.done: dict[Stage, int] = {}

        def start(self, stage: Stage, total: int | None) -> None:
            self.totals[stage] = total

        def advance(self, stage: Stage, n: int = 1) -> None:
            self.done[stage] = self.done.get(stage, 0) + n

        def finish(self, stage: Stage) -> None:
            pass

    from wirepub import app

    counted = Counting()
    assert app.push(ws.config, clock=ws.clock, progress=counted).ok
    assert counted.totals == {Stage.READ: 5, Stage.RENDER: 5, Stage.DELIVER: 7}   # 5 items, 2 feeds
    assert counted.done == {Stage.READ: 5, Stage.RENDER: 5, Stage.DELIVER: 7}
    ws.store.close()
