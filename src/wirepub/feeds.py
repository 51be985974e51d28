"""Feeds own their state here: what each partner's feed holds, when the feeds are rebuilt, and what a new
copy of a feed supersedes in the ledger.

- A partner's feed holds the latest released version of each story routing.in_feed gives it, newest
  first, up to the partner's channel max_items: a killed story the partner had stays as its kill notice for
  kill_notice_hours (on_kill_feed = "notice"), or leaves at once ("drop").
- Feeds are rebuilt once per process and then whenever a version was released since (by any node: the
  store's last release time says so), or a kill notice they hold has had its time; never otherwise.
- A partner profile's rules are checked on every copy (rendering.Renderer.feed); the stories they hold back
  from the partner are recorded (store.holds) and logged, naming the rule, and leave that record as soon as
  they keep the rules again.
- A new copy is queued only if its bytes differ from the newest copy queued for its path; it makes every
  older copy that is still waiting 'superseded', so a partner that was down gets only the newest. A feed
  that changes back to bytes it once had reopens that row rather than adding a second one. Each WebSub hub
  the channel names gets a ping for the copy, which the ledger holds back until the copy is delivered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import cast

from wirepub.channel import Channel
from wirepub.errors import WirepubError
from wirepub.formats import FeedFormat
from wirepub.logs import facts
from wirepub.partners import Partner
from wirepub.rendering import Document, FeedResult, Renderer, rows
from wirepub.reports import PushReport
from wirepub.routing import in_feed, notice_until
from wirepub.store import HeldRow, LedgerBatch, NewDelivery, Store, StoredVersion
from wirepub.story import Story
from wirepub.urls import shown
from wirepub.vocabulary import DeliveryKind, FormatKind

log = logging.getLogger("wirepub.feeds")

PAGE = 200   # versions read from the store at a time while filling a partner's feed


class Feeds:
    def __init__(self, partners: Sequence[Partner], store: Store, renderer: Renderer,
                 story_of: Callable[[StoredVersion], Story], *, channel: Channel) -> None:
        self.partners = partners
        self.store = store
        self.renderer = renderer
        self.story_of = story_of
        self.channel = channel
        self._built = False
        self._as_of: datetime | None = None   # the last release the feeds were rebuilt for
        self._expires: datetime | None = None  # when the first kill notice in the feeds has had its time

    def rebuild(self, now: datetime, report: PushReport) -> list[NewDelivery]:
        """Every feed of every partner, as ledger rows for Feeds.admit, if a version was released since the
        last rebuild; [] otherwise."""
        last = self.store.versions.last_release()
        expired = self._expires is not None and now >= self._expires
        if self._built and last == self._as_of and not expired:
            return []
        self._expires = None
        out: list[NewDelivery] = []
        for partner in self.partners:
            out += self._partner_feeds(partner, now, report)
        self._built, self._as_of = True, last
        return out

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
        page_size = max(limit, PAGE)
        notices = partner.kill_notice_hours > 0 and partner.on_kill_feed == "notice"
        while len(chosen) < limit:
            page = self.store.versions.latest_released(limit=page_size, offset=offset, withdrawn=notices)
            for s in self._stories(page):
                # A kill notice goes where the story went: to a partner whose filter takes it, or that had it
                had = s.withdrawn and (partner.filter.matches(s) or self.store.ledger.received(partner.name, s.id))
                if in_feed(s, partner, now=now, had=had):
                    chosen.append(s)
                    if s.withdrawn:
                        self._note_expiry(notice_until(s, partner))
            if len(page) < page_size:
                break
            offset += len(page)
        return chosen[:limit]

    def _note_expiry(self, until: datetime) -> None:
        self._expires = until if self._expires is None else min(self._expires, until)

    def _stories(self, page: list[StoredVersion]) -> list[Story]:
        out = []
        for version in page:
            try:
                out.append(self.story_of(version))
            except WirepubError as exc:  # a stored story this wirepub cannot read: left out, said once per rebuild
                log.error("stored story left out of the feeds", extra=facts(story=version.story_id,
                                                                             version=version.version, error=str(exc)))
        return out

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
