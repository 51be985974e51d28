"""What a run did, for whoever started it: the CLI prints it, the daemon logs it, tests read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from wirepub.sources import Rejection


@dataclass
class PushReport:
    new: list[tuple[str, int]] = field(default_factory=list)
    unchanged: int = 0
    released: list[tuple[str, int]] = field(default_factory=list)
    held: list[tuple[str, int, datetime]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)     # could not be rendered or validated
    retrying: list[str] = field(default_factory=list)     # delivery failed, will be retried
    dead: list[str] = field(default_factory=list)         # delivery given up on
    warnings: list[str] = field(default_factory=list)
    written: int = 0
    destinations: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)   # wall time per stage: collect, deliver
    source_errors: dict[str, str] = field(default_factory=dict)   # sources that could not be read at all
    unsettled: list[str] = field(default_factory=list)    # files maybe still being written: look again later

    @property
    def ok(self) -> bool:
        return not (self.failures or self.rejected or self.retrying or self.dead or self.source_errors)
