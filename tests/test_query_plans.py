"""The queries that run on every poll or over the whole archive read the partial index made for them, on the
default SQLite store (issue 13, item 3). SQLite's planner, without statistics, ties a partial index of open work
with a full index on the same leading column and picked the full one: a claim read a partner's whole archive
(31 ms per call at 100,000 stories against 1.8 ms at 1,000, bench/scale_bench.py). A feed's stories were found
by grouping every released version (0.4 s of a one-story push at 100,000). The queries name their index
(`INDEXED BY`); these tests run each through the store's own methods, catch the SQL it sends, and ask SQLite
for that statement's plan. Before store/hints.py no statement carried its hint: SQLAlchemy's SQLite compiler
drops table hints."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from wirepub.store import Store

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def sent_while(store: Store, call: Any) -> list[tuple[str, Any]]:
    sent: list[tuple[str, Any]] = []

    def caught(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if "INDEXED BY" in statement:
            sent.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", caught)
    try:
        call()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", caught)
    return sent


def plan(store: Store, statement: str, parameters: Any) -> list[str]:
    statement = re.sub(r"\s+RETURNING\s+.*$", "", statement, flags=re.S)   # EXPLAIN takes no RETURNING
    with store.engine.connect() as c:
        return [str(r[-1]) for r in c.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()]


def test_each_hinted_query_reads_its_own_index_and_never_scans_a_table(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/wirepub.db")
    calls = {
        "claim by partner": lambda: store.ledger.claim("n", NOW, lease_seconds=60, partner="p"),
        "claim": lambda: store.ledger.claim("n", NOW, lease_seconds=60),
        "due count": lambda: store.ledger.count_due(NOW),
        "kills count": lambda: store.versions.withdrawn_before(NOW),
        "feed copies pruned": lambda: store.upkeep.prune_feed_bodies(NOW - timedelta(days=1)),
        "a feed's stories": lambda: store.versions.latest_released(50),
        "a feed's stories and kills": lambda: store.versions.latest_released(50, 50, withdrawn=True),
    }
    wanted = {"claim by partner": "ix_deliveries_open", "claim": "ix_deliveries_open",
              "due count": "ix_deliveries_open", "kills count": "ix_story_versions_kills",
              "feed copies pruned": "ix_deliveries_feed_copies", "a feed's stories": "ix_story_versions_released",
              "a feed's stories and kills": "ix_story_versions_released"}
    try:
        for name, call in calls.items():
            sent = sent_while(store, call)
            assert sent, f"{name}: no statement named its index (the hint was dropped)"
            for statement, parameters in sent:
                steps = plan(store, statement, parameters)
                assert any(wanted[name] in s for s in steps), (name, steps)
                scans = [s for s in steps if re.match(r"SCAN (deliveries|story_versions|other|media)\b", s)
                         and "USING" not in s]
                assert not scans, (name, steps)
                by_state = [s for s in steps if "ix_deliveries_due (state=?)" in s]
                assert not by_state, f"{name}: a subquery reads every delivered row by state: {steps}"
    finally:
        store.close()
