"""Feeds own their state here: what each partner's feed holds, when the feeds are rebuilt, and what a new
copy of a feed supersedes in the ledger.

- A partner's feed holds the latest released version of each story routing.in_feed gives it, newest
  first, up to the partner's channel max_items: a killed story the partner had stays as its kill notice for
  kill_notice_hours (on_kill_feed = "notice"), or leaves at once ("drop").
- Feeds are rebuilt whenever a version was released since the last rebuild (by any node: the store's last
  count of releases says so), what shapes them changed (partners, channel, templates), or a kill notice they
  held has had its time: the store keeps what the feeds were built as of, so a run that released nothing, in
  this process or a new one, builds none.
- A partner profile's rules are checked on every copy (rendering.Renderer.feed); the stories they hold back
  from the partner are recorded (store.holds) and logged, naming the rule, and leave that record as soon as
  they keep the rules again.
- A new copy is queued only if its bytes differ from the newest copy queued for its path; it makes every
  older copy that is still waiting 'superseded', so a partner that was down gets only the newest. A feed
  that changes back to bytes it once had reopens that row rather than adding a second one. Each WebSub hub
  the channel names gets a ping for the copy, which the ledger holds back until the copy is delivered.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from wirepub.channel import Channel
from wirepub.errors import WirepubError
from wirepub.formats import FeedFormat
from wirepub.logs import facts
from wirepub.partners import Partner
from wirepub.rendering import Document, FeedResult, Renderer, rows
from wirepub.reports import PushReport
from wirepub.routing import in_feed
from wirepub.store import HeldRow, LedgerBatch, NewDelivery, Store, StoredVersion
from wirepub.story import Story
from wirepub.urls import shown
from wirepub.vocabulary import DeliveryKind, FormatKind, OnKillFeed

log = logging.getLogger("wirepub.feeds")

PAGE = 200   # versions read from the store at a time while filling a partner's feed


@dataclass(frozen=True)
class FeedsBuilt:
    rows: list[NewDelivery]   # the feeds' documents (and pings), as ledger rows
    as_of: str | None         # what they were built as of, to be marked with them; None: build again next time


class Feeds:
    def __init__(self, partners: Sequence[Partner], store: Store, renderer: Renderer,
                 story_of: Callable[[StoredVersion], Story], *, channel: Channel, shape: str = "") -> None:
        self.partners = partners
        self.store = store
        self.renderer = renderer
        self.story_of = story_of
        self.channel = channel
        self.shape = shape   # what the feeds look like apart from their stories: changed, they are rebuilt

    def rebuild(self, now: datetime, report: PushReport) -> FeedsBuilt:
        """Every feed of every partner, as ledger rows for Feeds.admit, if a version was released since the
        last rebuild, the feeds' shape changed or a kill notice has had its time; nothing otherwise. The
        build's as_of goes into the ledger with its rows (LedgerBatch.feeds_built); none if a feed failed,
        so the next round tries again."""
        as_of = f"{self.store.upkeep.releases()}|{self.shape}|{self._notices_over(now)}"
        if self.store.upkeep.feeds_as_of() == as_of:
            return FeedsBuilt([], None)
        out: list[NewDelivery] = []
        for partner in self.partners:
            out += self._partner_feeds(partner, now, report)
        return FeedsBuilt(out, None if report.failures else as_of)

    def _partner_feeds(self, partner: Partner, now: datetime, report: PushReport) -> list[NewDelivery]:
        feed_formats = partner.formats_of(FormatKind.FEED)
        if not feed_formats:
            return []
        out: list[NewDelivery] = []
        for fmt in cast(list[FeedFormat], feed_formats):
            channel = partner.channel_for(fmt.name, self.channel)
            stories = self.holds(partner, now, channel.max_items)
            try:
                result = self.renderer.feed(partner, fmt, stories, now)
            except WirepubError as exc:
                report.failures.append(f"partner {partner.name}: {exc}")
                log.error("feed failed", extra=facts(partner=partner.name, format=fmt.name, error=str(exc)))
                continue
            self._record_held(partner, fmt, result, now, report)
            for doc in result.documents:
                out += rows(partner, doc, DeliveryKind.FEED, partner.next_batch(now))
            out += self._pings(partner, fmt, result.documents, channel, now)
        return out

    def _record_held(self, partner: Partner, fmt: FeedFormat, result: FeedResult, now: datetime,
                     report: PushReport) -> None:
        held = [HeldRow(h.partner, h.format, h.story_id, h.version, h.rule, h.message) for h in result.held]
        for h in self.store.holds.replace(partner.name, fmt.name, held, now):
            log.warning("held back by the partner's profile", extra=facts(
                partner=partner.name, format=fmt.name, story=h.story_id, version=h.version, rule=h.rule,
                error=h.message))
        report.warnings += [f"partner {h.partner}: {h.story_id} v{h.version} held back from {h.format} by "
                            f"{h.rule}: {h.message}" for h in held]

    def _pings(self, partner: Partner, fmt: FeedFormat, docs: list[Document], channel: Channel,
               now: datetime) -> list[NewDelivery]:
        """A WebSub ping per hub for the copy at the feed's own path (a sitemap index, not its pages)."""
        if not channel.hubs:
            return []
        feed_path = partner.paths.feed_path(fmt.name, fmt.extension)
        out = []
        for doc in docs:
            if doc.path != feed_path or doc.self_url is None:
                continue
            out += [NewDelivery(partner=partner.name, destination=shown(hub), path=doc.self_url, format=fmt.name,
                                kind=DeliveryKind.PING, media_type=doc.media_type, body=doc.data, sha256=doc.sha256,
                                not_before=partner.next_batch(now))
                    for hub in channel.hubs]
        return out

    def holds(self, partner: Partner, now: datetime | None = None, max_items: int | None = None) -> list[Story]:
        """What the partner's feed holds now."""
        limit = max_items or self.channel.max_items
        chosen: list[Story] = []
        offset = 0
        page_size = limit   # a feed whose partner takes every story fills from its first page; then pages of PAGE
        notices = partner.kill_notice_hours > 0 and partner.on_kill_feed == "notice"
        while len(chosen) < limit:
            page = self.store.versions.latest_released(limit=page_size, offset=offset, withdrawn=notices)
            for s in self._stories(page):
                # A kill notice goes where the story went: to a partner whose filter takes it, or that had it
                had = s.withdrawn and (partner.filter.matches(s) or self.store.ledger.received(partner.name, s.id))
                if in_feed(s, partner, now=now, had=had):
                    chosen.append(s)
            if len(page) < page_size:
                break
            offset += len(page)
            page_size = max(limit, PAGE)
        return chosen[:limit]

    def _notices_over(self, now: datetime) -> str:
        """How many kill notices have had their time, per notice window the partners keep: it changes (and
        the feeds are rebuilt, by whichever node looks first) exactly when a notice is due to leave."""
        hours = sorted({p.kill_notice_hours for p in self.partners if p.on_kill_feed == OnKillFeed.NOTICE})
        return ",".join(str(self.store.versions.withdrawn_before(now - timedelta(hours=h))) for h in hours)

    def _stories(self, page: list[StoredVersion]) -> list[Story]:
        out = []
        for version in page:
            try:
                out.append(self.story_of(version))
            except WirepubError as exc:  # a stored story this wirepub cannot read: left out, said once per rebuild
                log.error("stored story left out of the feeds", extra=facts(story=version.story_id,
                                                                             version=version.version, error=str(exc)))
        return out

    def prune(self, retention: float, now: datetime) -> int:
        """At most once an hour (across nodes: the time is in the store), forget the bytes of feed copies
        older than `retention` seconds that a newer copy replaced. Returns how many were forgotten."""
        last = self.store.upkeep.last_pruned()
        if last is not None and now - last < timedelta(hours=1):
            return 0
        self.store.upkeep.pruned(now)
        removed = self.store.upkeep.prune_feed_bodies(now - timedelta(seconds=retention))
        if removed:
            log.info("old feed copies forgotten", extra=facts(documents=removed, retention_seconds=retention))
        return removed

    @staticmethod
    def admit(batch: LedgerBatch, row: NewDelivery) -> None:
        """Queue a new copy of a feed (or a ping for one), superseding older copies that are still waiting."""
        key = (row.partner, row.destination, row.path)
        newest = batch.newest_copy(key)
        if newest is not None and newest.sha256 == row.sha256:
            return
        batch.supersede_open(key)
        again = batch.copy_with(key, row.sha256)
        if again is not None:
            batch.reopen(again, row)
        else:
            batch.add([row])


def feed_shape(config: Any) -> str:
    """A digest of what shapes every feed apart from its stories: partners (formats, filters, paths, their
    templates' files as they are now), the channel and the provider."""
    parts = [repr(config.channel), repr(config.provider)]
    for p in config.partners:
        templates = sorted((k, str(v), v.stat().st_mtime_ns if v.exists() else 0) for k, v in p.templates.items())
        parts.append(repr((p.name, p.formats, p.filter, p.paths, [d.url for d in p.destinations], templates,
                           p.profile, p.channel, p.channels, p.field_maps, p.ninjs_version, p.on_kill_feed,
                           p.kill_notice_hours, p.public_urls)))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
