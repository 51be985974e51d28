"""The flow, and nothing but the flow (DESIGN.md): a source yields stories; the store records each new
version; versions whose embargo has passed are rendered for each partner and format, validated, and put at
each destination; the store records each delivery; feeds are rebuilt after the items they reference.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from wirepub.clock import Clock, SystemClock
from wirepub.config import Config, Layout, Partner
from wirepub.delivery import Deliverer
from wirepub.errors import ConfigError, StoryError, WirepubError
from wirepub.formats import FeedFormat, ItemFormat, RenderContext, get_format
from wirepub.sources import Rejection
from wirepub.sources.hotfolder import HotFolder
from wirepub.store import NewDelivery, Store, StoredVersion
from wirepub.story import Story, story_from_document
from wirepub.transports import Destination, Transport, open_transport
from wirepub.validate import Validator, detect_format

log = logging.getLogger("wirepub.publisher")

RELEASE_BATCH = 100  # story versions per ledger transaction
STORY_CACHE = 5_000  # parsed stories kept between collects (a daemon runs for months)
NOTHING_TYPE = "application/octet-stream"   # a deletion carries no document
NOTHING_SHA = hashlib.sha256(b"").hexdigest()


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

    @property
    def ok(self) -> bool:
        return not (self.failures or self.rejected or self.retrying or self.dead)


@dataclass
class Batch:
    rows: list[NewDelivery] = field(default_factory=list)
    releases: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Document:
    partner: str
    format: str
    path: str
    data: bytes
    media_type: str
    story_id: str | None = None
    version: int | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class Publisher:
    def __init__(self, config: Config, store: Store, *, clock: Clock | None = None,
                 source: HotFolder | None = None, validator: Validator | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock or SystemClock()
        p = config.provider
        self.source = source or HotFolder(
            config.source_path, rejected=config.rejected_path, language=config.default_language,
            copyright_holder=p.copyright_holder, copyright_notice=p.copyright_notice, usage_terms=p.usage_terms)
        self.validator = validator or Validator(config.official_schemas)
        self._transports: dict[str, Transport] = {}
        self._lock = threading.Lock()
        self._stories: dict[tuple[str, int], Story] = {}
        self._feeds_built = False                  # once per process, then after each release
        self._feeds_as_of: datetime | None = None  # the last release the feeds were rebuilt for
        self._bodies: dict[str, bytes] = {}  # documents rendered in this run, so delivery need not reread them

    # --- the flow -------------------------------------------------------------------------------

    def push(self, progress: Callable[[Iterable[StoredVersion]], Iterable[StoredVersion]] | None = None
             ) -> PushReport:
        """Collect, record, release what is due, rebuild the feeds, deliver. One bad story or destination
        never stops the rest; everything that went wrong is in the report."""
        report = PushReport()
        self.collect(report, progress)
        self.deliver(report)
        return report

    def collect(self, report: PushReport,
                progress: Callable[[Iterable[StoredVersion]], Iterable[StoredVersion]] | None = None,
                *, settle: float = 0.0, settled: Collection[Path] = ()) -> bool:
        """Everything before delivery: read the hot folder, record new versions, release those that are due
        (and send embargoed ones early to partners trusted with them), rebuild feeds. Only one process
        collects at a time; returns False, having done nothing, if another one is at it."""
        report.destinations = [self.transport_for(d).location for p in self.config.partners for d in p.destinations]
        with self.store.collect_lock() as mine:
            if not mine:
                log.info("collect skipped: another process is collecting")
                report.warnings.append("another wirepub process was collecting; this run only delivered")
                return False
            self._bodies.clear()
            if len(self._stories) > STORY_CACHE:
                self._stories.clear()
            self.intake(report, settle=settle, settled=settled)
            now = self.clock.now()
            due = self.store.due(now)
            batch = Batch()
            for version in (progress(due) if progress else due):
                self.release(version, now, report, batch)
                if len(batch.releases) >= RELEASE_BATCH:
                    self._enqueue(batch, now, report)
            self._enqueue(batch, now, report)
            self.send_embargoed(now, report)
            # Feeds change only when versions are released (here or by another node): rebuild them then.
            last_release = self.store.last_release()
            if not self._feeds_built or last_release != self._feeds_as_of:
                for partner in self.config.partners:
                    self.rebuild_feeds(partner, report)
                self._feeds_built, self._feeds_as_of = True, last_release
            report.held = [(v.story_id, v.version, v.embargo) for v in self.store.held(now) if v.embargo]
        return True

    def deliver(self, report: PushReport) -> None:
        """Attempt every delivery that is due (new ones, and retries whose time has come)."""
        outcome = Deliverer(self.config, self.store, self.transport_for, self.clock, node=self.config.daemon.node,
                            lease=self.config.daemon.lease).run(self._bodies)
        self._bodies.clear()
        report.written += outcome.delivered
        report.retrying.extend(outcome.failed)
        report.dead.extend(outcome.dead)

    def intake(self, report: PushReport, *, settle: float = 0.0, settled: Collection[Path] = ()) -> None:
        collected = self.source.collect(settle=settle, settled=settled)
        for rejection in collected.rejected:
            self._reject(rejection, report)
        for claimed in self._settle_claims(collected.stories, report):
            report.warnings.extend(claimed.warnings)
            story = self._settle_version(claimed)
            if story is None:
                report.unchanged += 1
                self.source.done(claimed.origin)
                continue
            seen = self.store.record_version(
                story_id=story.id, version=story.version, status=story.status,
                content_hash=story.content_hash, document=_stored_document(story), origin=story.origin,
                version_created=story.version_created, embargo=story.embargo, now=self.clock.now())
            if seen != "conflict":
                self.source.done(story.origin)
            if seen == "new":
                self._stories[(story.id, story.version)] = story
                report.new.append((story.id, story.version))
                log.info("story recorded story=%s version=%d status=%s origin=%s",
                         story.id, story.version, story.status, story.origin)
            elif seen == "same":
                report.unchanged += 1
            else:
                self._reject(Rejection(Path(story.origin), StoryError(
                    f"version {story.version} of story {story.id} was already recorded with other content; "
                    "a published version never changes: give this one the next version number",
                    file=story.origin, field="version")), report)

    def _settle_claims(self, stories: list[Story], report: PushReport) -> list[Story]:
        """Several files claiming one id and version with different content: the one the store already
        holds stays; if none is recorded nobody can tell which is right, so all of them are set aside."""
        claims: dict[tuple[str, int], list[Story]] = defaultdict(list)
        for story in stories:
            claims[(story.id, story.version)].append(story)
        keep: list[Story] = []
        for (story_id, version), claimants in claims.items():
            if len({s.content_hash for s in claimants}) == 1:
                keep.append(claimants[0])
                continue
            recorded = self.store.content_hash_of(story_id, version) if "version" in claimants[0].document else None
            names = ", ".join(Path(s.origin).name for s in claimants)
            for s in claimants:
                if s.content_hash == recorded:
                    keep.append(s)
                    continue
                self._reject(Rejection(Path(s.origin), StoryError(
                    f"{names} claim story {story_id} version {version} with different content; "
                    "give the newer one the next version number", file=s.origin, field="version")), report)
        return sorted(keep, key=lambda s: (s.version_created, s.id, s.version))

    def _settle_version(self, story: Story) -> Story | None:
        """Number a story that names no version, and drop content that was already recorded: a file left
        in the hot folder, or the same text approved again, sends nothing."""
        if "version" not in story.document and self.store.has_content(story.id, story.content_hash):
            return None
        latest = self.store.latest_version(story.id)
        if latest is None:
            return story
        if latest.content_hash == story.content_hash and story.version > latest.version:
            return None  # a new number on unchanged content: nothing to send
        changes: dict[str, Any] = {}
        if "version" not in story.document:
            changes["version"] = latest.version + 1
        if "first_created" not in story.document and "first_created" in latest.document:
            changes["first_created"] = datetime.fromisoformat(latest.document["first_created"])
        return dataclasses.replace(story, **changes) if changes else story

    def release(self, version: StoredVersion, now: datetime, report: PushReport, batch: Batch) -> None:
        """Render and validate every document of one due story version for the partners it goes to, and
        add them to the batch that goes into the ledger together with the version's release. A document
        that cannot be rendered or fails its schema holds the whole version back (nothing half-released),
        loudly, until the story or the template is fixed."""
        partner_name = format_name = "-"
        try:
            latest = self.store.latest_version(version.story_id)
            if latest is not None and latest.version > version.version:
                # A newer version (a correction, a kill) arrived before this one went out: it replaces it.
                batch.releases.append((version.story_id, version.version))
                log.info("superseded story=%s version=%d by=%d", version.story_id, version.version,
                         latest.version)
                return
            story = self._story(version)
            rows = []
            for partner in self.config.partners:
                if story.withdrawn:
                    if not self.store.received(partner.name, story.id):
                        continue  # a kill goes only to partners that had the story
                elif not partner.filter.matches(story):
                    continue
                when = partner.next_batch(now)
                for fmt in _formats(partner, "item"):
                    partner_name, format_name = partner.name, fmt.name
                    doc = self._render_item(partner, fmt, story)
                    rows += self._rows(partner, doc, when)
                    if story.withdrawn:
                        rows += self._withdraw_earlier(partner, story, doc, when)
            batch.rows += rows
            batch.releases.append((story.id, story.version))
            report.released.append((story.id, story.version))
        except WirepubError as exc:
            report.failures.append(str(exc))
            log.error("release held back story=%s version=%d partner=%s format=%s destination=- error=%s",
                      version.story_id, version.version, partner_name, format_name, exc)

    def send_embargoed(self, now: datetime, report: PushReport) -> None:
        """Partners trusted with embargoed copy (embargo = "send-with-embargo") get the item documents of a
        held version at once; they carry the embargo (NewsML-G2 `embargoed`). Feeds wait for the time, and
        at release the same documents are not sent again."""
        trusted = [p for p in self.config.partners if p.embargo == "send-with-embargo" and _formats(p, "item")]
        if not trusted:
            return
        for version in self.store.embargoed_unsent(now):
            try:
                story = self._story(version)
                rows = []
                for partner in trusted:
                    if story.withdrawn or not partner.filter.matches(story):
                        continue
                    for fmt in _formats(partner, "item"):
                        rows += self._rows(partner, self._render_item(partner, fmt, story), partner.next_batch(now))
                self.store.enqueue(rows, embargo_sent=[(story.id, story.version)], now=now)
            except WirepubError as exc:
                report.failures.append(str(exc))
                log.error("embargoed send failed story=%s version=%d partner=- format=- destination=- error=%s",
                          version.story_id, version.version, exc)

    def _withdraw_earlier(self, partner: Partner, story: Story, kill: Document, when: datetime) -> list[NewDelivery]:
        """What a kill does to the item documents of earlier versions at this partner (partners.on_kill):
        keep them, replace them with the withdrawal notice, or delete them."""
        if partner.on_kill == "keep":
            return []
        rows = []
        for destination, path in self.store.item_paths(partner.name, story.id, kill.format, before=story.version):
            if partner.on_kill == "replace":
                rows.append(NewDelivery(partner.name, destination, path, kill.format, "replace", kill.media_type,
                                        kill.data, kill.sha256, story.id, story.version, when))
            else:
                rows.append(NewDelivery(partner.name, destination, path, kill.format, "delete", NOTHING_TYPE,
                                        b"", NOTHING_SHA, story.id, story.version, when))
        return rows

    def _enqueue(self, batch: Batch, now: datetime, report: PushReport) -> None:
        """One transaction for a batch of released versions and their documents: all or nothing."""
        if batch.releases:
            self.store.enqueue(batch.rows, releases=batch.releases, now=now)
        batch.rows, batch.releases = [], []

    def rebuild_feeds(self, partner: Partner, report: PushReport) -> None:
        """Each feed of a partner from the latest stories it takes; queued only if its bytes changed."""
        feed_formats = _formats(partner, "feed")
        if not feed_formats:
            return
        stories = self._feed_stories(partner)
        for fmt in feed_formats:
            path = partner.paths.feed_path(fmt.name, fmt.extension)
            try:
                data = fmt.render(stories, self._context(partner, fmt, feed_path=path))
                self.validator.check(data, format_name=fmt.name, profile=fmt.schema,
                                     story=f"(feed of {len(stories)})")
            except WirepubError as exc:
                report.failures.append(f"partner {partner.name}: {exc}")
                log.error("feed failed story=- version=- partner=%s format=%s destination=- error=%s",
                          partner.name, fmt.name, exc)
                continue
            doc = Document(partner.name, fmt.name, path, data, fmt.media_type)
            now = self.clock.now()
            self.store.enqueue(self._rows(partner, doc, partner.next_batch(now)), now=now)

    def _feed_stories(self, partner: Partner) -> list[Story]:
        wanted = self.config.channel.max_items
        chosen: list[Story] = []
        offset = 0
        while len(chosen) < wanted:
            page = self.store.feed_versions(limit=max(wanted, 200), offset=offset)
            chosen += [s for s in map(self._story, page) if partner.filter.matches(s)]
            if len(page) < max(wanted, 200):
                break
            offset += len(page)
        return chosen[:wanted]

    # --- one document at a time (wirepub render / wirepub validate) -----------------------------

    def render_file(self, path: Path, format_name: str, *, partner: str | None = None,
                    validate: bool = True) -> bytes:
        story = self.source.read(path)
        chosen = next((p for p in self.config.partners if p.name == partner), None) if partner else None
        if partner and chosen is None:
            raise ConfigError(f"no partner named {partner!r}", key="partners")
        fmt = get_format(format_name)
        ctx = self._context(chosen or Partner("-", ()), fmt,
                            feed_path=(chosen.paths if chosen else Layout()).feed_path(fmt.name, fmt.extension))
        data = fmt.render([story], ctx) if fmt.kind == "feed" else fmt.render(story, ctx)
        if validate:
            self.validator.check(data, format_name=fmt.name, profile=fmt.schema, story=story.id)
        return data

    def validate_file(self, path: Path) -> str:
        """Check a document or a story file; returns what it was. Raises WirepubError if invalid."""
        data = path.read_bytes()
        name = detect_format(data)
        if name is None:
            self.source.read(path)  # a story file: reading it is checking it against the contract
            return "story"
        fmt = get_format(name)
        self.validator.check(data, format_name=name, profile=fmt.schema, story=path.name)
        return name

    # --- pieces -----------------------------------------------------------------------------------

    def _render_item(self, partner: Partner, fmt: ItemFormat, story: Story) -> Document:
        data = fmt.render(story, self._context(partner, fmt))
        self.validator.check(data, format_name=fmt.name, profile=fmt.schema, story=f"{story.id} v{story.version}")
        path = partner.paths.item_path(story, fmt.name, fmt.extension)
        return Document(partner.name, fmt.name, path, data, fmt.media_type, story.id, story.version)

    def _rows(self, partner: Partner, doc: Document, when: datetime) -> list[NewDelivery]:
        self._bodies[doc.sha256] = doc.data
        return [NewDelivery(partner=partner.name, destination=dest.url, path=doc.path, format=doc.format,
                            kind="item" if doc.story_id else "feed", media_type=doc.media_type, body=doc.data,
                            sha256=doc.sha256, story_id=doc.story_id, version=doc.version, not_before=when)
                for dest in partner.destinations]

    def _context(self, partner: Partner, fmt: ItemFormat | FeedFormat, feed_path: str = "") -> RenderContext:
        return RenderContext(self.config.provider, self.config.channel,
                             template=partner.templates.get(fmt.name), feed_path=feed_path)

    def transport_for(self, destination: Destination) -> Transport:
        with self._lock:
            if destination.url not in self._transports:
                self._transports[destination.url] = open_transport(destination, base_dir=self.config.base_dir)
            return self._transports[destination.url]

    def close(self) -> None:
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()

    def _story(self, version: StoredVersion) -> Story:
        key = (version.story_id, version.version)
        if key not in self._stories:
            self._stories[key] = story_from_document(version.document, origin=version.origin)
        return self._stories[key]

    def _reject(self, rejection: Rejection, report: PushReport) -> None:
        report.rejected.append(rejection)
        log.warning("story set aside file=%s field=%s reason=%s", rejection.error.file,
                    rejection.error.field or "file", rejection.error.reason)
        if rejection.path.exists() and rejection.path.is_relative_to(self.source.path):
            self.source.set_aside(rejection.path, rejection.error)


def _formats(partner: Partner, kind: str) -> list[Any]:
    return [f for f in (get_format(n) for n in partner.formats) if f.kind == kind]


def _stored_document(story: Story) -> dict[str, Any]:
    """The document as it will be rebuilt from the store: defaults the source supplied made explicit."""
    doc = dict(story.document)
    doc.update(version=story.version, status=story.status, language=story.language,
               version_created=story.version_created.isoformat(), first_created=story.first_created.isoformat())
    for key in ("copyright_holder", "copyright_notice", "usage_terms"):
        value = getattr(story, key)
        if value is not None:
            doc[key] = value
    return doc
