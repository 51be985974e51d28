"""push, retry, resend: filling the ledger and delivering what is due."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from wirepub.clock import Clock, SystemClock
from wirepub.config import LEGACY_SOURCE, Config, SourceSettings
from wirepub.delivery import Deliverer, DeliveryReport
from wirepub.progress import Progress
from wirepub.publisher import Publisher
from wirepub.reports import PushReport
from wirepub.sources.registry import open_sources
from wirepub.store import Store, shown_url
from wirepub.store.trouble import store_error
from wirepub.vocabulary import SourceKind


@dataclass
class Delivered:
    """What retry and resend did: documents made due again, then the delivery run's outcome."""

    requeued: int
    written: int = 0
    retrying: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.retrying or self.dead)


@contextmanager
def opened(config: Config) -> Iterator[Store]:
    """The store, open for the use case's time; store trouble comes out as one StoreError sentence."""
    store = Store(config.store_url, connections=connections(config))
    try:
        yield store
    except sa.exc.SQLAlchemyError as exc:
        raise store_error(exc, shown_url(config.store_url)) from None
    finally:
        store.close()


def connections(config: Config) -> int:
    """What the store's pool should keep: one per delivery worker, and a few for the loop and the collect."""
    return config.delivery.concurrency + 4


def deliverer(config: Config, store: Store, clock: Clock) -> Deliverer:
    return Deliverer(config, store, clock, node=config.daemon.node, lease=config.daemon.lease)


def push(config: Config, *, clock: Clock | None = None, source_dir: Path | None = None, source: str | None = None,
         progress: Progress | None = None) -> PushReport:
    """Collect, record, release what is due, rebuild feeds, deliver. One bad story or destination never
    stops the rest; everything that went wrong is in the report. source_dir: a folder instead of the configured
    sources; source: only the configured source of this name (ConfigError if there is none)."""
    clock = clock or SystemClock()
    if source_dir is not None:
        folder = source_dir.resolve()
        only = SourceSettings(LEGACY_SOURCE, SourceKind.FOLDER, {"path": folder, "rejected": folder / "rejected",
                                                                 "settle": config.settle}, config.default_language)
        config = dataclasses.replace(config, source_path=folder, rejected_path=folder / "rejected", sources=(only,))
    report = PushReport(warnings=list(config.warnings))
    with opened(config) as store:
        publisher = Publisher(config, store, clock=clock, sources=open_sources(config, store, clock, only=source))
        sender = deliverer(config, store, clock)
        try:
            report.destinations = sender.locations()
            report.failures += [f"partner {name} is misconfigured, so its deliveries wait: {why}"
                                for name, why in sender.misconfigured.items()]
            start = time.perf_counter()
            publisher.collect(report, progress, settle=config.settle, wait=True)
            report.seconds["collect"] = time.perf_counter() - start
            _add(report, sender.run(publisher.bodies, progress=progress))
            report.seconds["deliver"] = time.perf_counter() - start - report.seconds["collect"]
        finally:
            sender.close()
    return report


def retry(config: Config, *, partner: str | None = None, include_dead: bool = False,
          clock: Clock | None = None) -> Delivered:
    """Try failed (and, if asked, dead) deliveries now instead of waiting for their next attempt."""
    clock = clock or SystemClock()
    with opened(config) as store:
        count = store.ledger.requeue(now=clock.now(), partner=partner, include_dead=include_dead)
        return _deliver(config, store, clock, count)


def resend(config: Config, story_id: str, *, partner: str | None = None, clock: Clock | None = None) -> Delivered:
    """The latest version of a story again, byte for byte, to the partners that had it (requeued 0: the
    story has no deliveries to resend)."""
    clock = clock or SystemClock()
    with opened(config) as store:
        count = store.ledger.resend(story_id, now=clock.now(), partner=partner)
        return _deliver(config, store, clock, count) if count else Delivered(0)


def _deliver(config: Config, store: Store, clock: Clock, requeued: int) -> Delivered:
    sender = deliverer(config, store, clock)
    try:
        outcome = sender.run()
    finally:
        sender.close()
    return Delivered(requeued, outcome.delivered, outcome.failed, outcome.dead)


def _add(report: PushReport, outcome: DeliveryReport) -> None:
    report.written += outcome.delivered
    report.retrying.extend(outcome.failed)
    report.dead.extend(outcome.dead)


def drop(config: Config, story_id: str, version: int, *, clock: Clock | None = None) -> bool:
    """Give up on a version that was never released (one that cannot be rendered, usually): it is never
    released, and its file no longer comes back as a failure. False if there is no such unreleased version."""
    with opened(config) as store:
        return store.versions.drop(story_id, version, (clock or SystemClock()).now())
