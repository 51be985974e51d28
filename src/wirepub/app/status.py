"""status: what each partner has, and what is waiting or failing; the desk's page as a static file."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from wirepub.app.publish import opened
from wirepub.clock import Clock, SystemClock
from wirepub.config import Config
from wirepub.statuspage import write_status_page as _write_page
from wirepub.store import Store


@dataclass(frozen=True, slots=True)
class Status:
    at: datetime
    partners: list[dict[str, Any]]     # per partner: counts by state, last_error, oldest_pending_seconds
    failed_versions: list[dict[str, Any]] = field(default_factory=list)   # held back: cannot be rendered
    notices: list[dict[str, Any]] = field(default_factory=list)           # failing collects, misconfigured
    store_bytes: int | None = None                                        # how much room the store takes
    rejections: list[dict[str, Any]] = field(default_factory=list)        # per source: item, field, reason (shown;
                                                                          # the newsroom corrects them at the source)
    held_back: list[dict[str, Any]] = field(default_factory=list)         # by a partner profile's rule

    @property
    def ok(self) -> bool:
        return not (any(p["dead"] for p in self.partners) or self.failed_versions or self.notices)


def _status(store: Store, now: datetime) -> Status:
    return Status(now, store.reads.status(now), store.reads.failed_versions(),
                  [{"kind": n.kind, "subject": n.subject, "node": n.node, "message": n.message, "since": n.first_at}
                   for n in store.notices.all()], store.upkeep.size_bytes(),
                  [{"source": r.source, "ref": r.ref, "field": r.field, "reason": r.reason, "at": r.at}
                   for r in store.rejections.recent()],
                  [dataclasses.asdict(h) for h in store.holds.all()])


def status(config: Config, *, clock: Clock | None = None) -> Status:
    now = (clock or SystemClock()).now()
    with opened(config) as store:
        return _status(store, now)


def write_status_page(config: Config, path: Path, *, story: str | None = None,
                      clock: Clock | None = None) -> Status:
    """The daemon's status page as a static file; returns the status it shows."""
    now = (clock or SystemClock()).now()
    with opened(config) as store:
        _write_page(store, now, path, story=story)
        return _status(store, now)
