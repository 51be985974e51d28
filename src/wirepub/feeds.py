"""Feeds own their state here: what each partner's feed holds, when the feeds are rebuilt, and what a new
copy of a feed supersedes in the ledger.

- A partner's feed holds the latest released version of each story routing.in_feed gives it, newest
  first, up to channel.max_items.
- Feeds are rebuilt whenever a version was released since the last rebuild (by any node: the store's last
  count of releases says so) or what shapes them changed (partners, channel, templates): the store keeps what
  the feeds were built as of, so a run that released nothing, in this process or a new one, builds none.
- A new copy is queued only if its bytes differ from the newest copy queued for its path; it makes every
  older copy that is still waiting 'superseded', so a partner that was down gets only the newest. A feed
  that changes back to bytes it once had reopens that row rather than adding a second one.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from wirepub.errors import WirepubError
from wirepub.logs import facts
from wirepub.partners import Partner
from wirepub.rendering import Renderer, rows
from wirepub.reports import PushReport
from wirepub.routing import in_feed
from wirepub.store import LedgerBatch, NewDelivery, Store, StoredVersion
from wirepub.story import Story
from wirepub.vocabulary import DeliveryKind, FormatKind

log = logging.getLogger("wirepub.feeds")

PAGE = 200   # versions read from the store at a time while filling a partner's feed


class Feeds:
    def __init__(self, partners: Sequence[Partner], store: Store, renderer: Renderer,
                 story_of: Callable[[StoredVersion], Story], *, max_items: int, shape: str = "") -> None:
        self.partners = partners
        self.store = store
        self.renderer = renderer
        self.story_of = story_of
        self.max_items = max_items
        self.shape = shape   # what the feeds look like apart from their stories: changed, they are rebuilt

    def rebuild(self, now: datetime, report: PushReport) -> list[NewDelivery]:
        """Every feed of every partner, as ledger rows for Feeds.admit, if a version was released since the
        last rebuild or the feeds' shape changed; [] otherwise."""
        as_of = f"{self.store.ledger.releases()}|{self.shape}"
        if self.store.ledger.feeds_as_of() == as_of:
            return []
        out: list[NewDelivery] = []
        for partner in self.partners:
            out += self._partner_feeds(partner, now, report)
        if not report.failures:
            self.store.ledger.feeds_built(as_of)
        return out

    def _partner_feeds(self, partner: Partner, now: datetime, report: PushReport) -> list[NewDelivery]:
        feed_formats = partner.formats_of(FormatKind.FEED)
        if not feed_formats:
            return []
        stories = self.holds(partner)
        out: list[NewDelivery] = []
        for fmt in feed_formats:
            try:
                doc = self.renderer.feed(partner, fmt, stories)  # type: ignore[arg-type]
            except WirepubError as exc:
                report.failures.append(f"partner {partner.name}: {exc}")
                log.error("feed failed", extra=facts(partner=partner.name, format=fmt.name, error=str(exc)))
                continue
            out += rows(partner, doc, DeliveryKind.FEED, partner.next_batch(now))
        return out

    def holds(self, partner: Partner) -> list[Story]:
        """What the partner's feed holds now."""
        chosen: list[Story] = []
        offset = 0
        page_size = max(self.max_items, PAGE)
        while len(chosen) < self.max_items:
            page = self.store.versions.latest_released(limit=page_size, offset=offset)
            chosen += [s for s in self._stories(page) if in_feed(s, partner)]
            if len(page) < page_size:
                break
            offset += len(page)
        return chosen[:self.max_items]

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
        last = self.store.ledger.last_pruned()
        if last is not None and now - last < timedelta(hours=1):
            return 0
        self.store.ledger.pruned(now)
        removed = self.store.ledger.prune_feed_bodies(now - timedelta(seconds=retention))
        if removed:
            log.info("old feed copies forgotten", extra=facts(documents=removed, retention_seconds=retention))
        return removed

    @staticmethod
    def admit(batch: LedgerBatch, row: NewDelivery) -> None:
        """Queue a new copy of a feed, superseding older copies of it that are still waiting."""
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
        parts.append(repr((p.name, p.formats, p.filter, p.paths, [d.url for d in p.destinations], templates)))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
