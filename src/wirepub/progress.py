"""Progress a person can trust: one count per stage of a run (reading stories, rendering them, delivering
documents), from the first file to the last delivery. The flow tells a Progress; the CLI shows it as one bar
per stage on a terminal, or as periodic JSON log lines off one; the daemon tells nobody (Quiet)."""

from __future__ import annotations

import logging
import time
from enum import StrEnum
from typing import Protocol

from wirepub.logs import facts

log = logging.getLogger("wirepub.progress")


class Stage(StrEnum):
    READ = "read"          # story files (or items) read from the source
    RENDER = "render"      # story versions rendered, validated and queued
    DELIVER = "deliver"    # documents put at their destinations


class Progress(Protocol):
    def start(self, stage: Stage, total: int | None) -> None:
        """A stage begins; total is how many it will count, where known."""

    def advance(self, stage: Stage, n: int = 1) -> None: ...

    def finish(self, stage: Stage) -> None: ...


class Quiet:
    def start(self, stage: Stage, total: int | None) -> None:
        pass

    def advance(self, stage: Stage, n: int = 1) -> None:
        pass

    def finish(self, stage: Stage) -> None:
        pass


class LogLines:
    """Off a terminal: a JSON log line per stage every `every` seconds (and at the end of a stage that had
    one), with the count, the total where known, and the rate."""

    def __init__(self, every: float = 2.0) -> None:
        self.every = every
        log.setLevel(logging.INFO)   # said whatever the run's log level: it is what the run is for
        self._counts: dict[Stage, tuple[int, int | None, float, float]] = {}   # done, total, started, last said

    def start(self, stage: Stage, total: int | None) -> None:
        now = time.monotonic()
        self._counts[stage] = (0, total, now, now)

    def advance(self, stage: Stage, n: int = 1) -> None:
        done, total, started, said = self._counts.get(stage, (0, None, time.monotonic(), time.monotonic()))
        done += n
        now = time.monotonic()
        if now - said >= self.every:
            self._say(stage, done, total, started, now)
            said = now
        self._counts[stage] = (done, total, started, said)

    def finish(self, stage: Stage) -> None:
        """A last line for a stage long enough to have had one on the way; a short one says nothing."""
        if stage in self._counts:
            done, total, started, said = self._counts.pop(stage)
            if said > started:
                self._say(stage, done, total, started, time.monotonic())

    @staticmethod
    def _say(stage: Stage, done: int, total: int | None, started: float, now: float) -> None:
        rate = done / (now - started) if now > started else None
        log.info("progress", extra=facts(stage=stage, done=done, total=total,
                                            per_second=round(rate, 1) if rate else None))
