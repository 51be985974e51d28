"""The flow, and nothing but the flow (DESIGN.md): a source yields stories; intake records each new
version; versions whose embargo has passed are routed to partners, rendered and validated for each of the
partner's formats, and queued in the ledger with their release, in one transaction per batch; partners
trusted with embargoed copy get item documents early; feeds are rebuilt after releases. Delivery is the
Deliverer's (delivery.py): the publisher only fills the ledger.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from wirepub.clock import Clock, SystemClock
from wirepub.config import Config
from wirepub.errors import SourceError, WirepubError
from wirepub.feeds import Feeds, feed_shape
from wirepub.intake import Intake
from wirepub.logs import facts
from wirepub.partners import Partner
from wirepub.progress import Progress, Quiet, Stage
from wirepub.rendering import Document, Renderer, rows
from wirepub.reports import PushReport
from wirepub.routing import Route, route
from wirepub.sources import Memory, Source
from wirepub.sources.hotfolder import HotFolder
from wirepub.sources.registry import hot_folder, open_sources
from wirepub.store import Known, LedgerBatch, NewDelivery, Store, StoredVersion
from wirepub.story import Story, story_from_document
from wirepub.validate import Validator
from wirepub.vocabulary import DeliveryKind, FormatKind, OnKill, RouteAction, SourceKind

log = logging.getLogger("wirepub.publisher")

RELEASE_BATCH = 100  # story versions per ledger transaction
STORY_CACHE = 5_000  # parsed stories kept between collects (a daemon runs for months)
NOTHING_TYPE = "application/octet-stream"   # a deletion carries no document
NOTHING_SHA = hashlib.sha256(b"").hexdigest()



@dataclass
class Batch:
    """Ledger rows and the versions they release (or send early), queued together."""

    rows: list[NewDelivery] = field(default_factory=list)
    releases: list[tuple[str, int]] = field(default_factory=list)
    early: list[tuple[str, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.releases) + len(self.early)


def folder_source(config: Config, clock: Clock, memory: Memory | None = None) -> HotFolder:
    """The configured hot folder (the first folder source), or ./stories: for reading one story file."""
    settings = next((s for s in config.sources if s.kind == SourceKind.FOLDER), None)
    if settings is None:
        p = config.provider
        return HotFolder(config.source_path, rejected=config.rejected_path, language=config.default_language,
                         copyright_holder=p.copyright_holder, copyright_notice=p.copyright_notice,
                         usage_terms=p.usage_terms, clock=clock, memory=memory)
    return hot_folder(config, settings, clock, memory)


class Publisher:
    def __init__(self, config: Config, store: Store, *, clock: Clock | None = None,
                 source: Source | None = None, sources: Sequence[Source] | None = None,
                 validator: Validator | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock or SystemClock()
        if sources is None:
            sources = [source] if source is not None else open_sources(config, store, self.clock)
        self.sources: list[Source] = list(sources)
        self.renderer = Renderer(config.provider, config.channel, validator or Validator(config.official_schemas))
        self.intakes = {s.name: Intake(s, store, self.clock) for s in self.sources}
        self.feeds = Feeds(config.partners, store, self.renderer, self._story, channel=config.channel,
                           shape=feed_shape(config))
        self._stories: dict[tuple[str, int], Story] = {}
        self.bodies: dict[str, bytes] = {}  # documents rendered by the last collect, so delivery need not reread

    @property
    def source(self) -> Source:
        """The first source (the only one, where a single hot folder is configured)."""
        return self.sources[0]

    @property
    def intake(self) -> Intake:
        return self.intakes[self.source.name]

    def collect(self, report: PushReport, progress: Progress | None = None, *, settle: float = 0.0,
                settled: Collection[str] = (), only: Collection[str] | None = None, wait: bool = False,
                sources: Collection[str] | None = None) -> bool:
        """Everything before delivery: read the source and record new versions, release those that are due
        (and send embargoed ones early to partners trusted with them), rebuild feeds. Reading the source and
        rebuilding feeds is done by one process at a time (the others skip it this round); releasing is
        shared: each process takes versions to release from the store, leased to it. Returns False if
        another process was reading the source.

        With `sources`, only the sources of those names are read (the daemon's pull sources on their own
        schedules); `only` (refs) narrows what the folder sources look at. A source that cannot be read at all
        is in report.source_errors and the others go on; if none of those asked for could be read, its
        SourceError is raised (nothing is released on an empty reading)."""
        self.bodies.clear()
        if len(self._stories) > STORY_CACHE:
            self._stories.clear()
        stages = progress or Quiet()
        with self.store.locks.collect() as mine:
            if mine:
                for story in self._intake(report, settle=settle, settled=settled, only=only, wait=wait,
                                          progress=stages, names=sources):
                    self._stories[(story.id, story.version)] = story   # released without reading it again
            else:
                log.info("another process is reading the source; this one releases and delivers")
        now = self.clock.now()
        stages.start(Stage.RENDER, self.store.versions.count_due(now))
        self._release_claimed(now, report, stages, early=False)
        self._release_claimed(now, report, stages, early=True)
        stages.finish(Stage.RENDER)
        with self.store.locks.collect() as again:
            if again:
                self._rebuild_feeds(now, report)
        report.held = [(v.story_id, v.version, v.embargo) for v in self.store.versions.held(now) if v.embargo]
        return mine

    def _intake(self, report: PushReport, *, settle: float, settled: Collection[str], only: Collection[str] | None,
                wait: bool, progress: Progress, names: Collection[str] | None) -> list[Story]:
        chosen = [s for s in self.sources if names is None or s.name in names]
        recorded: list[Story] = []
        first: SourceError | None = None
        for source in chosen:
            try:
                recorded += self.intakes[source.name].run(
                    report, settle=settle, settled=settled, only=only if source.kind == SourceKind.FOLDER else None,
                    wait=wait, progress=progress)
            except SourceError as exc:
                report.source_errors[source.name] = str(exc)
                log.error("source cannot be read", extra=facts(source=source.name, error=str(exc)))
                first = first or exc
        if first is not None and len(report.source_errors) == len(chosen):
            raise first
        return recorded

    def _rebuild_feeds(self, now: datetime, report: PushReport) -> None:
        built = self.feeds.rebuild(now, report)
        if built.rows or built.as_of:
            self._remember(built.rows)
            with self.store.ledger.batch(now) as batch:
                for row in built.rows:
                    Feeds.admit(batch, row)
                if built.as_of:
                    batch.feeds_built(built.as_of)
        self.feeds.prune(self.config.feed_retention, now)

    def _release_claimed(self, now: datetime, report: PushReport, stages: Progress, *, early: bool) -> None:
        """Release versions due (or send embargoed ones early), a batch at a time, each batch leased to this
        node in the store first: several nodes share the work and none renders a version another has."""
        lease = self.config.daemon.lease
        while True:
            chunk = self.store.versions.claim_due(self.config.daemon.node, now, lease_seconds=lease,
                                                  limit=RELEASE_BATCH, early=early)
            if not chunk:
                return
            try:
                known = self.store.versions.known([v.story_id for v in chunk])
                batch = Batch()
                for version in chunk:
                    self._release(version, now, report, batch, known)
                    stages.advance(Stage.RENDER)
                self._enqueue(batch, now)
            except BaseException:
                self.store.versions.give_back(self.config.daemon.node, [(v.story_id, v.version) for v in chunk])
                raise

    def _release(self, version: StoredVersion, now: datetime, report: PushReport, batch: Batch,
                 known: Known) -> None:
        """Route one version and render every document it needs into the batch. A document that cannot be
        rendered or fails its schema holds the whole version back (nothing half-released), loudly, until the
        story or the template is fixed."""
        where = {"partner": "-", "format": "-"}
        try:
            latest = known.latest(version.story_id, live=True)
            if latest is not None and latest.version > version.version:
                # A newer version (a correction, a kill) arrived before this one went out: it replaces it.
                held = version.embargo is not None and now < version.embargo
                (batch.early if held else batch.releases).append((version.story_id, version.version))
                log.info("superseded", extra=facts(story=version.story_id, version=version.version,
                                                   by=latest.version))
                return
            story = self._story(version)
            had = self._recipients(story)
            routes = route(story, self.config.partners, had=had, now=now)
            for r in routes:
                if r.action != RouteAction.KILL:
                    batch.rows += self._picture_rows(r, story)
                for fmt in r.partner.formats_of(FormatKind.ITEM):
                    where = {"partner": r.partner.name, "format": fmt.name}
                    for doc in self.renderer.items(r.partner, fmt, story, now):  # type: ignore[arg-type]
                        batch.rows += self._item_rows(r, doc, story)
            if story.embargoed_at(now):
                batch.early.append((story.id, story.version))
            else:
                batch.releases.append((story.id, story.version))
                report.released.append((story.id, story.version))
        except WirepubError as exc:
            # Held back, visibly, until a corrected file replaces it or it is dropped: never retried for ever.
            report.failures.append(str(exc))
            self.store.versions.mark_failed(version.story_id, version.version, str(exc), now)
            log.error("release held back", extra=facts(story=version.story_id, version=version.version,
                                                       destination="-", error=str(exc), **where))

    def _recipients(self, story: Story) -> set[str]:
        if not story.withdrawn:
            return set()
        return {p.name for p in self.config.partners if self.store.ledger.received(p.name, story.id)}

    def _picture_rows(self, r: Route, story: Story) -> list[NewDelivery]:
        """The story's local pictures, to each destination of the partner, at their content-addressed path
        (the ledger sends them before the documents that show them)."""
        out: list[NewDelivery] = []
        for m in story.media:
            if not m.sha256:
                continue
            body = self.store.ledger.document_body(m.sha256)
            path = r.partner.paths.media_path(m.sha256, m.extension)
            doc = Document(r.partner.name, "media", path, body, m.type or NOTHING_TYPE, story.id, story.version)
            out += rows(r.partner, doc, DeliveryKind.MEDIA, r.not_before)
        return out

    def _item_rows(self, r: Route, doc: Document, story: Story) -> list[NewDelivery]:
        out = rows(r.partner, doc, DeliveryKind.ITEM, r.not_before)
        if r.action == RouteAction.KILL:
            out += self._withdraw_earlier(r.partner, story, doc, r.not_before)
        return out

    def _withdraw_earlier(self, partner: Partner, story: Story, kill: Document,
                          when: datetime) -> list[NewDelivery]:
        """What a kill does to the item documents of earlier versions at this partner (partners.on_kill):
        keep them, replace them with the withdrawal notice, or delete them."""
        if partner.on_kill == OnKill.KEEP:
            return []
        out = []
        for destination, path in self.store.ledger.item_paths(partner.name, story.id, kill.format,
                                                              before=story.version):
            if partner.on_kill == OnKill.REPLACE:
                out.append(NewDelivery(partner.name, destination, path, kill.format, DeliveryKind.REPLACE,
                                       kill.media_type, kill.data, kill.sha256, story.id, story.version, when))
            else:
                out.append(NewDelivery(partner.name, destination, path, kill.format, DeliveryKind.DELETE,
                                       NOTHING_TYPE, b"", NOTHING_SHA, story.id,
                                       story.version, when))
        return out

    def _enqueue(self, batch: Batch, now: datetime) -> None:
        """One transaction for a batch of released versions and their documents: all or nothing. A partner
        never gets two different copies of one version (an item path already in the ledger is left alone);
        a kill's replacement or deletion of an earlier item is queued once."""
        if not len(batch):
            return
        self._remember(batch.rows)
        with self.store.ledger.batch(now) as tx:
            _add_items(tx, batch.rows)
            tx.released(batch.releases)
            tx.embargo_sent(batch.early)

    def _remember(self, new: list[NewDelivery]) -> None:
        for row in new:
            self.bodies[row.sha256] = row.body

    def _story(self, version: StoredVersion) -> Story:
        key = (version.story_id, version.version)
        if key not in self._stories:
            self._stories[key] = story_from_document(version.document, origin=version.origin)
        return self._stories[key]


def _add_items(tx: LedgerBatch, new: list[NewDelivery]) -> None:
    items = [r for r in new if r.kind in (DeliveryKind.ITEM, DeliveryKind.MEDIA)]   # once per path, for ever
    withdrawals = [r for r in new if r.kind not in (DeliveryKind.ITEM, DeliveryKind.MEDIA)]
    taken = tx.taken((r.partner, r.destination, r.path) for r in items)
    fresh: list[NewDelivery] = []
    for r in items:
        key = (r.partner, r.destination, r.path)
        if key not in taken:
            taken.add(key)
            fresh.append(r)
    fresh += [r for r in withdrawals if tx.copy_with((r.partner, r.destination, r.path), r.sha256) is None]
    tx.add(fresh)
