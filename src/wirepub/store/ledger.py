"""The delivery ledger (the outbox): one row per document and destination, with its state, attempts, next
attempt and lease. Primitives only; which rows to add, and what a new feed copy supersedes, is decided by
the flow (publisher, feeds) inside one LedgerBatch, so that it all lands in one transaction or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cache
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from wirepub.store.rows import DueDelivery, FeedCopy, NewDelivery, Outcome
from wirepub.store.schema import deliveries, documents, meta
from wirepub.store.upkeep import put_meta
from wirepub.store.versions import mark
from wirepub.vocabulary import OPEN_STATES, DeliveryKind, DeliveryState

_T = TypeVar("_T")
d = deliveries.c
PathKey = tuple[str, str, str]   # partner, destination, path
# Pictures first, then items, then feeds, then WebSub pings (each waits for what it refers to: claim_query).
FEEDS_LAST = sa.case((d.kind == DeliveryKind.MEDIA, 0), (d.kind == DeliveryKind.FEED, 2),
                     (d.kind == DeliveryKind.PING, 3), else_=1)
# The open states written out, not bound: only then can SQLite and PostgreSQL's generic plans prove that a
# claim reads the partial index of open deliveries (ix_deliveries_open) and not the partner's whole archive.
OPEN_LITERAL = sa.text("deliveries.state IN ('pending', 'failed')")


class LedgerBatch:
    """One transaction's worth of ledger work (Ledger.batch)."""

    def __init__(self, c: Connection, now: datetime) -> None:
        self.c = c
        self.now = now

    def taken(self, keys: Iterable[PathKey]) -> set[PathKey]:
        """Those of these paths that have any delivery at all: per partner and destination, a search of
        ix_deliveries_path for the paths, never a scan of the archive."""
        by_place: dict[tuple[str, str], set[str]] = {}
        for partner, destination, path in keys:
            by_place.setdefault((partner, destination), set()).add(path)
        found: set[PathKey] = set()
        for (partner, destination), paths in by_place.items():
            for chunk in _chunks(sorted(paths), 500):
                found |= {(partner, destination, path) for path in self.c.execute(
                    sa.select(d.path).distinct().where(d.partner == partner, d.destination == destination,
                                                       d.path.in_(chunk))).scalars()}
        return found

    def newest_copy(self, key: PathKey) -> FeedCopy | None:
        row = self.c.execute(sa.select(d.id, d.sha256).where(*_at(key))
                             .order_by(d.created_at.desc(), d.id.desc()).limit(1)).first()
        return FeedCopy(row.id, row.sha256) if row else None

    def copy_with(self, key: PathKey, sha256: str) -> int | None:
        row = self.c.execute(sa.select(d.id).where(*_at(key), d.sha256 == sha256).limit(1)).first()
        return int(row.id) if row else None

    def supersede_open(self, key: PathKey) -> None:
        self.c.execute(deliveries.update().where(*_at(key), d.state.in_(OPEN_STATES))
                       .values(state=DeliveryState.SUPERSEDED))

    def reopen(self, delivery_id: int, row: NewDelivery) -> None:
        """Make an old row of these very bytes pending again, as a new delivery."""
        self.store_documents([row])
        self.c.execute(deliveries.update().where(d.id == delivery_id).values(
            state=DeliveryState.PENDING, attempts=0, next_attempt_at=self.now, last_error=None, created_at=self.now))

    def add(self, rows: Sequence[NewDelivery]) -> int:
        self.store_documents(rows)
        if rows:
            self.c.execute(deliveries.insert(), [
                {"partner": r.partner, "destination": r.destination, "path": r.path, "format": r.format,
                 "kind": r.kind, "story_id": r.story_id, "version": r.version, "sha256": r.sha256,
                 "state": DeliveryState.PENDING, "attempts": 0, "next_attempt_at": max(self.now, r.not_before
                                                                                       or self.now),
                 "created_at": self.now}
                for r in rows])
        return len(rows)

    def store_documents(self, rows: Sequence[NewDelivery]) -> None:
        wanted = {r.sha256: r for r in rows}
        have: set[str] = set()
        for chunk in _chunks(sorted(wanted), 500):
            have |= set(self.c.execute(sa.select(documents.c.sha256).where(documents.c.sha256.in_(chunk))).scalars())
        missing = [r for sha, r in wanted.items() if sha not in have]
        if missing:
            self.c.execute(documents.insert(), [{"sha256": r.sha256, "media_type": r.media_type, "body": r.body,
                                                 "created_at": self.now} for r in missing])

    def released(self, versions: Sequence[tuple[str, int]]) -> None:
        """These versions are out: marked released, and the store's count of releases goes up with them (the
        feeds' rebuild looks at that count, which, unlike a time, two releases never share)."""
        if not versions:
            return
        mark(self.c, "released_at", versions, self.now)
        put_meta(self.c, "releases", str(len(versions)),
                 existing=sa.cast(sa.cast(meta.c.value, sa.Integer) + len(versions), sa.String))

    def embargo_sent(self, versions: Sequence[tuple[str, int]]) -> None:
        mark(self.c, "embargo_sent_at", versions, self.now)

    def feeds_built(self, as_of: str) -> None:
        """The feeds' rows in this batch were built as of `as_of` (Feeds.rebuild): written with those rows, so a
        process killed between building the feeds and admitting them builds them again."""
        put_meta(self.c, "feeds_as_of", as_of)


class Ledger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def batch(self, now: datetime) -> Iterator[LedgerBatch]:
        with self.engine.begin() as c:
            yield LedgerBatch(c, now)

    # --- the deliverer's side ---

    def claim(self, node: str, now: datetime, *, lease_seconds: float, partner: str | None = None,
              limit: int = 100, due_by: datetime | None = None) -> list[DueDelivery]:
        """Take deliveries to attempt now, items before feeds, oldest first, leased to this node until
        now + lease_seconds. One statement: PostgreSQL skips rows another node has locked (FOR UPDATE SKIP
        LOCKED); SQLite takes its write lock before reading. A node that dies leaves its leases to expire,
        and then any node takes the work over. due_by (default now) leaves out retries scheduled later."""
        params = {"b_now": now, "b_due_by": due_by or now, "b_partner": partner, "b_limit": limit,
                  "b_node": node, "b_until": now + timedelta(seconds=lease_seconds)}
        with self.engine.connect() as c:   # a read first: an idle node's polls take no write lock
            if c.execute(_peek(partner is not None), {**params, "b_limit": 1}).first() is None:
                return []
        with self.engine.begin() as c:
            ids = list(c.execute(_take(partner is not None), params).scalars())
            if not ids:
                return []
            rows = c.execute(
                sa.select(d.id, d.partner, d.destination, d.path, d.format, d.kind, d.story_id, d.version, d.sha256,
                          d.attempts, d.created_at, documents.c.media_type)
                .join(documents, documents.c.sha256 == d.sha256).where(d.id.in_(ids))
                .order_by(FEEDS_LAST, d.id)
            ).all()
        return [DueDelivery(**{**r._mapping, "kind": DeliveryKind(r.kind)}) for r in rows]

    def renew(self, node: str, ids: Sequence[int], now: datetime, *, lease_seconds: float) -> None:
        """Extend this node's leases on work it still holds (queued behind a slow partner)."""
        with self.engine.begin() as c:
            for chunk in _chunks(list(ids), 500):
                c.execute(deliveries.update().where(d.id.in_(chunk), d.lease_owner == node)
                          .values(lease_until=now + timedelta(seconds=lease_seconds)))

    def release_leases(self, node: str, ids: Sequence[int] | None = None) -> None:
        """Give back work this node took and will not attempt (shutting down, or gone): others take it at once.
        Copies of a feed superseded while leased give their lease back too: kept, they would hold the newer
        copy of their path back (one in flight at a time) until the lease ran out."""
        query = deliveries.update().where(d.lease_owner == node)
        with self.engine.begin() as c:
            if ids is None:
                c.execute(query.values(lease_owner=None, lease_until=None))
            for chunk in _chunks(list(ids or ()), 500):
                c.execute(query.where(d.id.in_(chunk)).values(lease_owner=None, lease_until=None))

    def lease_owners(self, now: datetime) -> list[str]:
        """Nodes holding leases that have not run out."""
        with self.engine.connect() as c:
            return list(c.execute(sa.select(d.lease_owner).distinct()
                                  .where(d.lease_owner.is_not(None), d.lease_until >= now)).scalars())

    def finish(self, outcomes: Sequence[Outcome], node: str | None = None) -> None:
        """Record what became of attempted deliveries, in one transaction per batch. With a node, only rows
        still leased to it are touched: if its lease ran out and another node took the work, that node's
        outcome counts."""
        if not outcomes:
            return
        still_open = sa.or_(*(d.state == s for s in OPEN_STATES))  # IN (...) cannot go with executemany
        query = deliveries.update().where(d.id == sa.bindparam("oid"), still_open)
        if node is not None:
            query = query.where(d.lease_owner == node)
        query = query.values(state=sa.bindparam("st"), attempts=d.attempts + 1, next_attempt_at=sa.bindparam("nxt"),
                             last_error=sa.bindparam("err"), delivered_at=sa.bindparam("at"),
                             delivered_by=sa.bindparam("by"), lease_owner=None, lease_until=None)
        attempted = [o for o in outcomes if o.state != DeliveryState.SUPERSEDED]
        with self.engine.begin() as c:
            if attempted:
                c.execute(query, [{"oid": o.id, "st": o.state, "nxt": o.next_attempt_at, "err": o.error,
                                   "at": o.at if o.state == DeliveryState.DELIVERED else None,
                                   "by": node if o.state == DeliveryState.DELIVERED else None} for o in attempted])
            if node is not None:   # rows superseded while in flight keep no lease: the newer copy may go now
                for chunk in _chunks([o.id for o in outcomes], 500):
                    c.execute(deliveries.update().where(d.id.in_(chunk), d.lease_owner == node)
                              .values(lease_owner=None, lease_until=None))

    def is_open(self, delivery_id: int) -> bool:
        """Is this delivery still waiting (not superseded meanwhile)?"""
        with self.engine.connect() as c:
            state = c.execute(sa.select(d.state).where(d.id == delivery_id)).scalar()
        return state in OPEN_STATES

    def keep_files(self, files: dict[str, tuple[str, bytes]], now: datetime) -> None:
        """Keep files (local pictures) by sha256 -> (media type, bytes), for deliveries to come."""
        with self.engine.begin() as c:
            have = set(c.execute(sa.select(documents.c.sha256).where(documents.c.sha256.in_(list(files)))).scalars())
            missing = [{"sha256": sha, "media_type": kind, "body": body, "created_at": now}
                       for sha, (kind, body) in files.items() if sha not in have]
            if missing:
                c.execute(documents.insert(), missing)
    def count_due(self, now: datetime) -> int:
        """Open deliveries due by now (ix_deliveries_open: never the archive)."""
        with self.engine.connect() as c:
            return int(c.execute(sa.select(sa.func.count()).select_from(deliveries)
                                 .with_hint(deliveries, "INDEXED BY ix_deliveries_open", "sqlite")
                                 .where(OPEN_LITERAL, sa.or_(d.next_attempt_at.is_(None), d.next_attempt_at <= now))
                                 ).scalar_one())

    def next_attempt(self) -> datetime | None:
        with self.engine.connect() as c:
            return c.execute(sa.select(sa.func.min(d.next_attempt_at)).where(d.state == DeliveryState.FAILED)).scalar()

    def document_body(self, sha256: str) -> bytes:
        with self.engine.connect() as c:
            body: bytes = c.execute(sa.select(documents.c.body).where(documents.c.sha256 == sha256)).scalar_one()
        return body

    # --- who had what ---

    def received(self, partner: str, story_id: str) -> bool:
        """Has this partner had (or is it about to have) any version of this story?"""
        with self.engine.connect() as c:
            query = sa.select(d.id).where(d.partner == partner, d.story_id == story_id,
                                          d.state.in_((DeliveryState.DELIVERED, *OPEN_STATES)))
            return c.execute(query.limit(1)).first() is not None

    def item_paths(self, partner: str, story_id: str, format: str, *, before: int) -> list[tuple[str, str]]:
        """(destination, path) of the item documents of a story's versions before `before` that this partner
        has had or is about to have."""
        with self.engine.connect() as c:
            rows = c.execute(sa.select(d.destination, d.path).distinct()
                             .where(d.partner == partner, d.story_id == story_id, d.format == format,
                                    d.kind == DeliveryKind.ITEM, d.version < before,
                                    d.state.in_((DeliveryState.DELIVERED, *OPEN_STATES)))
                             .order_by(d.destination, d.path)).all()
        return [(r.destination, r.path) for r in rows]

    def delivered(self, *, partner: str, destination: str, path: str) -> bool:
        with self.engine.connect() as c:
            return c.execute(sa.select(d.id).where(d.partner == partner, d.destination == destination,
                                                   d.path == path, d.state == DeliveryState.DELIVERED)
                             .limit(1)).first() is not None

    # --- by hand ---

    def requeue(self, *, now: datetime, partner: str | None = None, include_dead: bool = False) -> int:
        """Make failed (and, if asked, dead) deliveries due now; dead ones get a fresh set of attempts."""
        states = (DeliveryState.FAILED, DeliveryState.DEAD) if include_dead else (DeliveryState.FAILED,)
        other = deliveries.alias("other")
        newer = sa.exists().where(other.c.partner == d.partner, other.c.destination == d.destination,
                                  other.c.path == d.path, other.c.id != d.id,
                                  sa.or_(other.c.created_at > d.created_at,
                                         sa.and_(other.c.created_at == d.created_at, other.c.id > d.id)))
        # An old copy of a feed is never sent again over a newer one, not even by hand.
        query = deliveries.update().where(d.state.in_(states), sa.or_(d.kind != DeliveryKind.FEED, ~newer))
        if partner:
            query = query.where(d.partner == partner)
        with self.engine.begin() as c:
            if include_dead:
                c.execute(query.where(d.state == DeliveryState.DEAD).values(attempts=0))
            return int(c.execute(query.values(state=DeliveryState.PENDING, next_attempt_at=now)).rowcount)

    def resend(self, story_id: str, *, now: datetime, partner: str | None = None) -> int:
        """Deliver the latest delivered version of a story again (the same bytes, the same idempotency key)."""
        with self.engine.begin() as c:
            latest = c.execute(sa.select(sa.func.max(d.version)).where(d.story_id == story_id)).scalar()
            if latest is None:
                return 0
            query = deliveries.update().where(
                d.story_id == story_id, d.version == latest,
                d.state.in_((DeliveryState.DELIVERED, DeliveryState.DEAD, DeliveryState.FAILED)))
            if partner:
                query = query.where(d.partner == partner)
            return int(c.execute(query.values(state=DeliveryState.PENDING, next_attempt_at=now, attempts=0)).rowcount)


@cache
def _peek(by_partner: bool) -> sa.Select[Any]:
    """Is anything to claim? (built once, with bound parameters: an idle node polls this every few seconds)"""
    return claim_query(sa.bindparam("b_now"), partner=sa.bindparam("b_partner") if by_partner else None,
                       limit=sa.bindparam("b_limit"), due_by=sa.bindparam("b_due_by"), lock=False)


@cache
def _take(by_partner: bool) -> sa.Update:
    chosen = claim_query(sa.bindparam("b_now"), partner=sa.bindparam("b_partner") if by_partner else None,
                         limit=sa.bindparam("b_limit"), due_by=sa.bindparam("b_due_by"))
    return (deliveries.update().where(d.id.in_(chosen.scalar_subquery()))
            .values(lease_owner=sa.bindparam("b_node"), lease_until=sa.bindparam("b_until")).returning(d.id))


def claim_query(now: Any, *, partner: Any, limit: Any, due_by: Any = None, lock: bool = True) -> sa.Select[Any]:
    """The deliveries a claim takes: open, due, not leased, items before feeds, oldest first; a feed only while
    no other copy of its path is in flight. It reads the partial index of open deliveries, never the archive."""
    other = deliveries.alias("other")
    in_flight = sa.exists().where(other.c.partner == d.partner, other.c.destination == d.destination,
                                  other.c.path == d.path, other.c.id != d.id, other.c.lease_owner.is_not(None),
                                  other.c.lease_until >= now)
    # A picture goes before the documents that show it: an item waits while a picture of its story is open at
    # that destination, a feed while any picture of the partner is.
    # The kind and states written out, so that the databases read ix_deliveries_media (pictures only) and
    # never a partner's whole archive once per open delivery.
    media = deliveries.alias("media")
    media_open = (sa.select(media.c.id).with_hint(media, "INDEXED BY ix_deliveries_media", "sqlite").where(
        media.c.partner == d.partner, media.c.destination == d.destination,
        sa.text("media.kind = 'media'"), sa.text("media.state IN ('pending', 'failed')"),
        sa.or_(d.kind == DeliveryKind.FEED, media.c.story_id == d.story_id)).exists())
    # A WebSub ping goes once the feed copy it announces is delivered everywhere it goes.
    copy = sa.and_(other.c.partner == d.partner, other.c.sha256 == d.sha256, other.c.kind == DeliveryKind.FEED)
    by_sha = sa.select(other.c.id).with_hint(other, "INDEXED BY ix_deliveries_sha", "sqlite")   # not by state
    announced = sa.and_(by_sha.where(copy, other.c.state == DeliveryState.DELIVERED).exists(),
                        ~by_sha.where(copy, other.c.state.in_(OPEN_STATES)).exists())
    due = due_by if due_by is not None else now
    chosen = (
        sa.select(d.id).with_hint(deliveries, "INDEXED BY ix_deliveries_open", "sqlite")
        .where(OPEN_LITERAL, sa.or_(d.next_attempt_at.is_(None), d.next_attempt_at <= due),
               sa.or_(d.lease_until.is_(None), d.lease_until < now),
               sa.or_(d.kind != DeliveryKind.FEED, ~in_flight),   # one copy of a feed path in flight at a time
               sa.or_(d.kind.not_in((DeliveryKind.ITEM, DeliveryKind.FEED)), ~media_open),
               sa.or_(d.kind != DeliveryKind.PING, announced))
        .order_by(FEEDS_LAST, d.id).limit(limit)
    )
    if lock:
        chosen = chosen.with_for_update(skip_locked=True)
    return chosen.where(d.partner == partner) if partner is not None else chosen


def _at(key: PathKey) -> tuple[sa.ColumnElement[bool], ...]:
    partner, destination, path = key
    return d.partner == partner, d.destination == destination, d.path == path


def _chunks(values: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]
