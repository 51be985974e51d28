"""The store: the record of every story version seen and every document delivered. The only module that
writes SQL. SQLAlchemy Core, so the same code runs on the default SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from wirepub.errors import ConfigError

_T = TypeVar("_T")

SCHEMA_VERSION = 3
ADVISORY_LOCK = 0x77697265  # 'wire': one process upgrades a PostgreSQL store at a time
COLLECT_LOCK = 0x77697266   # one node at a time reads the hot folder and releases versions


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC so every database compares alike."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store only takes timezone-aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


metadata = sa.MetaData()

meta = sa.Table(
    "wirepub_meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)

story_versions = sa.Table(
    "story_versions", metadata,
    sa.Column("story_id", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("document", sa.Text, nullable=False),       # the story document, defaults filled in
    sa.Column("origin", sa.Text, nullable=False),
    sa.Column("version_created", UTCDateTime, nullable=False),
    sa.Column("embargo", UTCDateTime, nullable=True),
    sa.Column("seen_at", UTCDateTime, nullable=False),
    sa.Column("released_at", UTCDateTime, nullable=True),  # set once every item document is out
    sa.Column("embargo_sent_at", UTCDateTime, nullable=True),  # sent early to partners trusted with embargoes
)
sa.Index("ix_story_versions_pending", story_versions.c.released_at, story_versions.c.embargo)

documents = sa.Table(
    "documents", metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),   # the bytes, kept so every retry sends the same
    sa.Column("media_type", sa.String(128), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# The outbox: one row per document and destination. pending -> delivered, or failed (with the time of its
# next attempt) -> ... -> dead. A feed row that a newer feed made pointless is 'superseded'.
deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("partner", sa.String(128), nullable=False),
    sa.Column("destination", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("format", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False, server_default="item"),   # item | feed | delete
    sa.Column("story_id", sa.String(128), nullable=True),   # None for a feed document
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=True),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.Column("lease_owner", sa.String(128), nullable=True),  # the node attempting it now ...
    sa.Column("lease_until", UTCDateTime, nullable=True),     # ... until then; after that any node may take it
    sa.UniqueConstraint("partner", "destination", "path", "sha256", name="uq_delivery_document"),
)
sa.Index("ix_deliveries_path", deliveries.c.partner, deliveries.c.destination, deliveries.c.path)
sa.Index("ix_deliveries_due", deliveries.c.state, deliveries.c.next_attempt_at)
sa.Index("ix_deliveries_story", deliveries.c.story_id, deliveries.c.partner)

OPEN_STATES = ("pending", "failed")


@dataclass(frozen=True, slots=True)
class StoredVersion:
    story_id: str
    version: int
    status: str
    content_hash: str
    document: dict[str, Any]
    origin: str
    embargo: datetime | None
    released_at: datetime | None


Seen = Literal["new", "same", "conflict"]


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        try:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            # pre-ping: a connection the database dropped (a restart, a failover) is replaced, not used
            self.engine: Engine = sa.create_engine(url, pool_pre_ping=True)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise ConfigError(f"store URL cannot be used: {exc}", key="store.url") from None
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._migrate()

    def _migrate(self) -> None:
        """Create or upgrade the tables, one step per schema version, in one transaction."""
        with self.engine.begin() as c:
            if self.engine.dialect.name == "postgresql":
                c.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK})
            fresh = not sa.inspect(c).has_table(meta.name)
            metadata.create_all(c)
            row = c.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).first()
            current = SCHEMA_VERSION if fresh or row is None else int(row.value)
            if current > SCHEMA_VERSION:
                raise ConfigError(
                    f"the store at {self.url} has schema version {current}, newer than this wirepub "
                    f"understands ({SCHEMA_VERSION}); upgrade wirepub", key="store.url")
            for version in range(current + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version](c)
            if row is None:
                c.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            else:
                c.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION)))

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as c:
            yield c

    def close(self) -> None:
        self.engine.dispose()

    # --- story versions ---------------------------------------------------------------------

    def record_version(self, *, story_id: str, version: int, status: str, content_hash: str,
                       document: Mapping[str, Any], origin: str, version_created: datetime,
                       embargo: datetime | None, now: datetime) -> Seen:
        """Remember a story version. 'same' if already known with this content, 'conflict' if known with
        other content (a version, once seen, never changes), 'new' otherwise."""
        with self.engine.begin() as c:
            known = c.execute(
                sa.select(story_versions.c.content_hash)
                .where(story_versions.c.story_id == story_id, story_versions.c.version == version)
            ).first()
            if known is not None:
                return "same" if known.content_hash == content_hash else "conflict"
            c.execute(story_versions.insert().values(
                story_id=story_id, version=version, status=status, content_hash=content_hash,
                document=json.dumps(document, ensure_ascii=False, sort_keys=True), origin=origin,
                version_created=version_created, embargo=embargo, seen_at=now, released_at=None,
            ))
            return "new"

    def latest_version(self, story_id: str) -> StoredVersion | None:
        with self.engine.connect() as c:
            row = c.execute(
                sa.select(story_versions).where(story_versions.c.story_id == story_id)
                .order_by(story_versions.c.version.desc()).limit(1)
            ).first()
        return _stored(row) if row else None

    def content_hash_of(self, story_id: str, version: int) -> str | None:
        sv = story_versions.c
        with self.engine.connect() as c:
            row = c.execute(sa.select(sv.content_hash).where(sv.story_id == story_id, sv.version == version)).first()
        return row.content_hash if row else None

    def has_content(self, story_id: str, content_hash: str) -> bool:
        """Was this exact content recorded for this story, as any version?"""
        sv = story_versions.c
        with self.engine.connect() as c:
            return c.execute(sa.select(sv.version).where(sv.story_id == story_id, sv.content_hash == content_hash)
                             .limit(1)).first() is not None

    def due(self, now: datetime) -> list[StoredVersion]:
        """Versions not yet released whose embargo, if any, has passed; oldest first."""
        sv = story_versions.c
        with self.engine.connect() as c:
            rows = c.execute(
                sa.select(story_versions)
                .where(sv.released_at.is_(None), sa.or_(sv.embargo.is_(None), sv.embargo <= now))
                .order_by(sv.version_created, sv.story_id, sv.version)
            ).all()
        return [_stored(r) for r in rows]

    def held(self, now: datetime) -> list[StoredVersion]:
        """Versions waiting for their embargo."""
        sv = story_versions.c
        with self.engine.connect() as c:
            rows = c.execute(
                sa.select(story_versions).where(sv.released_at.is_(None), sv.embargo > now).order_by(sv.embargo)
            ).all()
        return [_stored(r) for r in rows]

    def last_release(self) -> datetime | None:
        """When a version was last released: the feeds are as of then."""
        with self.engine.connect() as c:
            return c.execute(sa.select(sa.func.max(story_versions.c.released_at))).scalar()

    def embargoed_unsent(self, now: datetime) -> list[StoredVersion]:
        """Held versions not yet sent early to the partners trusted with embargoed copy."""
        sv = story_versions.c
        with self.engine.connect() as c:
            rows = c.execute(
                sa.select(story_versions).where(sv.released_at.is_(None), sv.embargo > now,
                                                sv.embargo_sent_at.is_(None)).order_by(sv.embargo)
            ).all()
        return [_stored(r) for r in rows]

    def next_embargo(self, now: datetime) -> datetime | None:
        """The earliest time a held version may go."""
        sv = story_versions.c
        with self.engine.connect() as c:
            return c.execute(sa.select(sa.func.min(sv.embargo)).where(sv.released_at.is_(None), sv.embargo > now)
                             ).scalar()

    def feed_versions(self, limit: int, offset: int = 0) -> list[StoredVersion]:
        """The latest released version of each story, newest first, leaving out withdrawn stories."""
        sv = story_versions.c
        latest = (
            sa.select(sv.story_id, sa.func.max(sv.version).label("version"))
            .where(sv.released_at.is_not(None)).group_by(sv.story_id).subquery()
        )
        query = (
            sa.select(story_versions)
            .join(latest, sa.and_(sv.story_id == latest.c.story_id, sv.version == latest.c.version))
            .where(sv.status == "approved")
            .order_by(sv.version_created.desc(), sv.story_id).limit(limit).offset(offset)
        )
        with self.engine.connect() as c:
            return [_stored(r) for r in c.execute(query).all()]

    # --- the delivery ledger (outbox) -------------------------------------------------------------

    def enqueue(self, rows: Sequence[NewDelivery], *, releases: Sequence[tuple[str, int]] = (),
                embargo_sent: Sequence[tuple[str, int]] = (), now: datetime) -> int:
        """Record documents to deliver, and the story versions they release, in ONE transaction: after a
        crash either all of it is in the ledger or none of it is, so nothing is lost.
        An item path that has any delivery already is left alone (a partner never gets two different copies
        of one version); a feed row is added only when its bytes differ from the newest one for its path,
        and makes older undelivered rows for that path 'superseded'. A kill's 'replace' and 'delete' rows
        (earlier versions' items) are added once each."""
        d = deliveries.c
        items = [r for r in rows if r.kind == "item"]
        feeds = [r for r in rows if r.kind == "feed"]
        withdrawals = [r for r in rows if r.kind not in ("item", "feed")]
        with self.engine.begin() as c:
            taken: set[tuple[str, str, str]] = set()
            for chunk in _chunks(sorted({r.path for r in items}), 500):
                taken |= {tuple(t) for t in c.execute(
                    sa.select(d.partner, d.destination, d.path).where(d.path.in_(chunk))).all()}
            fresh: list[NewDelivery] = []
            for r in items:
                key = (r.partner, r.destination, r.path)
                if key not in taken:
                    taken.add(key)
                    fresh.append(r)
            for r in feeds:
                where = (d.partner == r.partner, d.destination == r.destination, d.path == r.path)
                newest = c.execute(sa.select(d.id, d.sha256).where(*where)
                                   .order_by(d.created_at.desc(), d.id.desc()).limit(1)).first()
                if newest is not None and newest.sha256 == r.sha256:
                    continue
                c.execute(deliveries.update().where(*where, d.state.in_(OPEN_STATES)).values(state="superseded"))
                same = c.execute(sa.select(d.id).where(*where, d.sha256 == r.sha256)).first()
                if same is not None:  # a feed that changed back to bytes it once had
                    self._store_documents(c, [r], now)
                    c.execute(deliveries.update().where(d.id == same.id).values(
                        state="pending", attempts=0, next_attempt_at=now, last_error=None, created_at=now))
                else:
                    fresh.append(r)
            for r in withdrawals:
                if c.execute(sa.select(d.id).where(d.partner == r.partner, d.destination == r.destination,
                                                   d.path == r.path, d.sha256 == r.sha256)).first() is None:
                    fresh.append(r)
            self._store_documents(c, fresh, now)
            if fresh:
                c.execute(deliveries.insert(), [
                    {"partner": r.partner, "destination": r.destination, "path": r.path, "format": r.format,
                     "kind": r.kind, "story_id": r.story_id, "version": r.version, "sha256": r.sha256,
                     "state": "pending", "attempts": 0, "next_attempt_at": max(now, r.not_before or now),
                     "created_at": now}
                    for r in fresh])
            sv = story_versions.c
            for column, versions in (("released_at", releases), ("embargo_sent_at", embargo_sent)):
                if versions:
                    c.execute(story_versions.update()
                              .where(sv.story_id == sa.bindparam("sid"), sv.version == sa.bindparam("ver"))
                              .values({column: now}), [{"sid": i, "ver": v} for i, v in versions])
        return len(fresh)

    @staticmethod
    def _store_documents(c: Connection, rows: Sequence[NewDelivery], now: datetime) -> None:
        wanted = {r.sha256: r for r in rows}
        have: set[str] = set()
        for chunk in _chunks(sorted(wanted), 500):
            have |= set(c.execute(sa.select(documents.c.sha256).where(documents.c.sha256.in_(chunk))).scalars())
        missing = [r for sha, r in wanted.items() if sha not in have]
        if missing:
            c.execute(documents.insert(), [{"sha256": r.sha256, "media_type": r.media_type, "body": r.body,
                                            "created_at": now} for r in missing])

    def claim(self, node: str, now: datetime, *, lease_seconds: float, partner: str | None = None,
              limit: int = 100, due_by: datetime | None = None) -> list[DueDelivery]:
        """Take deliveries to attempt now, items before feeds, oldest first, leased to this node until
        now + lease_seconds. One statement: PostgreSQL skips rows another node has locked (FOR UPDATE SKIP
        LOCKED); SQLite takes its write lock before reading. A node that dies leaves its leases to expire,
        and then any node takes the work over. due_by (default now) leaves out retries scheduled later."""
        d = deliveries.c
        chosen = (
            sa.select(d.id)
            .where(d.state.in_(OPEN_STATES), sa.or_(d.next_attempt_at.is_(None), d.next_attempt_at <= (due_by or now)),
                   sa.or_(d.lease_until.is_(None), d.lease_until < now))
            .order_by(sa.case((d.kind == "feed", 1), else_=0), d.id).limit(limit)
            .with_for_update(skip_locked=True)
        )
        if partner is not None:
            chosen = chosen.where(d.partner == partner)
        until = now + timedelta(seconds=lease_seconds)
        with self.engine.begin() as c:
            ids = list(c.execute(deliveries.update().where(d.id.in_(chosen.scalar_subquery()))
                                 .values(lease_owner=node, lease_until=until).returning(d.id)).scalars())
            if not ids:
                return []
            rows = c.execute(
                sa.select(d.id, d.partner, d.destination, d.path, d.format, d.kind, d.story_id, d.version, d.sha256,
                          d.attempts, d.created_at, documents.c.media_type)
                .join(documents, documents.c.sha256 == d.sha256).where(d.id.in_(ids))
                .order_by(sa.case((d.kind == "feed", 1), else_=0), d.id)
            ).all()
        return [DueDelivery(**r._mapping) for r in rows]

    def renew(self, node: str, ids: Sequence[int], now: datetime, *, lease_seconds: float) -> None:
        """Extend this node's leases on work it still holds (queued behind a slow partner)."""
        if not ids:
            return
        d = deliveries.c
        with self.engine.begin() as c:
            for chunk in _chunks(list(ids), 500):
                c.execute(deliveries.update().where(d.id.in_(chunk), d.lease_owner == node)
                          .values(lease_until=now + timedelta(seconds=lease_seconds)))

    def release_leases(self, node: str, ids: Sequence[int] | None = None) -> None:
        """Give back work this node took and will not attempt (shutting down): others take it at once."""
        d = deliveries.c
        query = deliveries.update().where(d.lease_owner == node, d.state.in_(OPEN_STATES))
        with self.engine.begin() as c:
            if ids is None:
                c.execute(query.values(lease_owner=None, lease_until=None))
            for chunk in _chunks(list(ids or ()), 500):
                c.execute(query.where(d.id.in_(chunk)).values(lease_owner=None, lease_until=None))

    def lease_owners(self, now: datetime) -> list[str]:
        """Nodes holding leases that have not run out."""
        d = deliveries.c
        with self.engine.connect() as c:
            return list(c.execute(sa.select(d.lease_owner).distinct()
                                  .where(d.lease_owner.is_not(None), d.lease_until >= now)).scalars())

    @contextmanager
    def collect_lock(self) -> Iterator[bool]:
        """Yields True if this process may read the hot folder and release versions now, False if another
        process is doing it. PostgreSQL: an advisory lock (let go if the node dies); SQLite: a lock file."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as c:
                mine = bool(c.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": COLLECT_LOCK}).scalar())
                c.commit()
                try:
                    yield mine
                finally:
                    if mine:
                        c.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": COLLECT_LOCK})
                        c.commit()
            return
        database = self.engine.url.database
        if not database or database == ":memory:":
            yield True
            return
        import fcntl

        with open(f"{database}.collect.lock", "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def ping(self) -> None:
        """Raises if the store does not answer."""
        with self.engine.connect() as c:
            c.execute(sa.text("SELECT 1"))

    def next_attempt(self) -> datetime | None:
        d = deliveries.c
        with self.engine.connect() as c:
            return c.execute(sa.select(sa.func.min(d.next_attempt_at)).where(d.state == "failed")).scalar()

    def document_body(self, sha256: str) -> bytes:
        with self.engine.connect() as c:
            body: bytes = c.execute(sa.select(documents.c.body).where(documents.c.sha256 == sha256)).scalar_one()
        return body

    def finish(self, outcomes: Sequence[Outcome], node: str | None = None) -> None:
        """Record what became of attempted deliveries, in one transaction per batch. With a node, only rows
        still leased to it are touched: if its lease ran out and another node took the work, that node's
        outcome counts."""
        if not outcomes:
            return
        d = deliveries.c
        still_open = sa.or_(d.state == "pending", d.state == "failed")  # IN (...) cannot go with executemany
        query = deliveries.update().where(d.id == sa.bindparam("oid"), still_open)
        if node is not None:
            query = query.where(d.lease_owner == node)
        query = query.values(state=sa.bindparam("st"), attempts=d.attempts + 1, next_attempt_at=sa.bindparam("nxt"),
                             last_error=sa.bindparam("err"), delivered_at=sa.bindparam("at"),
                             lease_owner=None, lease_until=None)
        with self.engine.begin() as c:
            c.execute(query, [{"oid": o.id, "st": o.state, "nxt": o.next_attempt_at, "err": o.error,
                               "at": o.at if o.state == "delivered" else None} for o in outcomes])

    def received(self, partner: str, story_id: str) -> bool:
        """Has this partner had (or is it about to have) any version of this story?"""
        d = deliveries.c
        with self.engine.connect() as c:
            query = sa.select(d.id).where(d.partner == partner, d.story_id == story_id,
                                          d.state.in_(("delivered", *OPEN_STATES)))
            return c.execute(query.limit(1)).first() is not None

    def item_paths(self, partner: str, story_id: str, format: str, *, before: int) -> list[tuple[str, str]]:
        """(destination, path) of the item documents of a story's versions before `before` that this partner
        has had or is about to have."""
        d = deliveries.c
        with self.engine.connect() as c:
            rows = c.execute(sa.select(d.destination, d.path).distinct()
                             .where(d.partner == partner, d.story_id == story_id, d.format == format,
                                    d.kind == "item", d.version < before, d.state.in_(("delivered", *OPEN_STATES)))
                             .order_by(d.destination, d.path)).all()
        return [(r.destination, r.path) for r in rows]

    def delivered(self, *, partner: str, destination: str, path: str) -> bool:
        d = deliveries.c
        with self.engine.connect() as c:
            return c.execute(sa.select(d.id).where(d.partner == partner, d.destination == destination,
                                                   d.path == path, d.state == "delivered").limit(1)).first() is not None

    def requeue(self, *, now: datetime, partner: str | None = None, include_dead: bool = False) -> int:
        """Make failed (and, if asked, dead) deliveries due now; dead ones get a fresh set of attempts."""
        d = deliveries.c
        states = ("failed", "dead") if include_dead else ("failed",)
        query = deliveries.update().where(d.state.in_(states))
        if partner:
            query = query.where(d.partner == partner)
        with self.engine.begin() as c:
            c.execute(query.where(d.state == "dead").values(attempts=0)) if include_dead else None
            return c.execute(query.values(state="pending", next_attempt_at=now)).rowcount

    def resend(self, story_id: str, *, now: datetime, partner: str | None = None) -> int:
        """Deliver the latest delivered version of a story again (the same bytes, the same idempotency key)."""
        d = deliveries.c
        with self.engine.begin() as c:
            latest = c.execute(sa.select(sa.func.max(d.version)).where(d.story_id == story_id)).scalar()
            if latest is None:
                return 0
            query = deliveries.update().where(d.story_id == story_id, d.version == latest,
                                              d.state.in_(("delivered", "dead", "failed")))
            if partner:
                query = query.where(d.partner == partner)
            return c.execute(query.values(state="pending", next_attempt_at=now, attempts=0)).rowcount

    def status(self, now: datetime) -> list[dict[str, Any]]:
        """Per partner: deliveries by state, the last error, the oldest open delivery's age in seconds."""
        d = deliveries.c
        with self.engine.connect() as c:
            counts = c.execute(sa.select(d.partner, d.state, sa.func.count(), sa.func.min(d.created_at))
                               .group_by(d.partner, d.state)).all()
            errors = c.execute(sa.select(d.partner, d.last_error, d.destination, d.path)
                               .where(d.last_error.is_not(None), d.state.in_(("failed", "dead")))
                               .order_by(d.id.desc())).all()
        out: dict[str, dict[str, Any]] = {}
        for partner, state, count, oldest in counts:
            entry = out.setdefault(partner, {"partner": partner, "pending": 0, "delivered": 0, "failed": 0,
                                             "dead": 0, "superseded": 0, "last_error": None,
                                             "oldest_pending_seconds": None})
            entry[state] = count
            if state in OPEN_STATES and oldest is not None:
                age = (now - oldest).total_seconds()
                prev = entry["oldest_pending_seconds"]
                entry["oldest_pending_seconds"] = age if prev is None else max(prev, age)
        for partner, error, destination, path in errors:
            if partner in out and out[partner]["last_error"] is None:
                out[partner]["last_error"] = f"{path} -> {destination}: {error}"
        return sorted(out.values(), key=lambda e: e["partner"])

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as c:
            versions = c.execute(sa.select(sa.func.count()).select_from(story_versions)).scalar_one()
            docs = c.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar_one()
        return {"story_versions": versions, "deliveries": docs}

    # --- the desk's view (status page) ---

    def recent_versions(self, limit: int = 50, *, matching: str | None = None) -> list[dict[str, Any]]:
        """The latest version of each story, the most recently seen first (story_id, version, status, seen_at,
        released_at, embargo); with `matching`, only stories whose id contains it, in any case."""
        sv = story_versions.c
        latest = sa.select(sv.story_id, sa.func.max(sv.version).label("version")).group_by(sv.story_id)
        if matching:
            latest = latest.where(sv.story_id.icontains(matching, autoescape=True))
        newest = latest.subquery()
        query = (
            sa.select(sv.story_id, sv.version, sv.status, sv.seen_at, sv.released_at, sv.embargo)
            .select_from(story_versions.join(
                newest, sa.and_(sv.story_id == newest.c.story_id, sv.version == newest.c.version)))
            .order_by(sv.seen_at.desc(), sv.story_id).limit(limit)
        )
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(query).all()]

    def versions_of(self, story_id: str) -> list[dict[str, Any]]:
        """Every version of one story, oldest first (the same fields as recent_versions)."""
        sv = story_versions.c
        query = (sa.select(sv.story_id, sv.version, sv.status, sv.seen_at, sv.released_at, sv.embargo)
                 .where(sv.story_id == story_id).order_by(sv.version))
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(query).all()]

    def story_history(self, story_id: str) -> list[dict[str, Any]]:
        """Where each version of one story went: one row per version, partner, destination and format, with
        its state, attempts, when it was queued and delivered, its next attempt and its last error."""
        d = deliveries.c
        query = (
            sa.select(d.version, d.partner, d.destination, d.path, d.format, d.state, d.attempts, d.created_at,
                      d.delivered_at, d.next_attempt_at, d.last_error)
            .where(d.story_id == story_id)
            .order_by(d.version.desc(), d.partner, d.destination, d.format, d.id)
        )
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(query).all()]


@dataclass(frozen=True, slots=True)
class NewDelivery:
    partner: str
    destination: str
    path: str
    format: str
    kind: str                 # item | feed
    media_type: str
    body: bytes
    sha256: str
    story_id: str | None = None
    version: int | None = None
    not_before: datetime | None = None   # the partner's schedule; None: at once


@dataclass(frozen=True, slots=True)
class DueDelivery:
    id: int
    partner: str
    destination: str
    path: str
    format: str
    kind: str
    story_id: str | None
    version: int | None
    sha256: str
    attempts: int
    created_at: datetime | None
    media_type: str


@dataclass(frozen=True, slots=True)
class Outcome:
    id: int
    state: str                        # delivered | failed | dead
    at: datetime
    next_attempt_at: datetime | None = None
    error: str | None = None


def _migrate_to_2(c: Connection) -> None:
    """v1 -> v2: the deliveries table becomes an outbox with attempts and retries; documents keep the bytes."""
    _add_columns(c, deliveries, ("kind", "attempts", "next_attempt_at", "last_error", "created_at"))
    # v1 delivered documents without keeping their bytes; they stay on record as delivered.


def _migrate_to_3(c: Connection) -> None:
    """v2 -> v3: leases, so that several nodes share the deliveries; early sends to embargo-trusted partners."""
    _add_columns(c, deliveries, ("lease_owner", "lease_until"))
    _add_columns(c, story_versions, ("embargo_sent_at",))


def _add_columns(c: Connection, table: sa.Table, names: Sequence[str]) -> None:
    have = {col["name"] for col in sa.inspect(c).get_columns(table.name)}
    for column in names:
        if column not in have:
            col = table.c[column]
            ddl_type = col.type.compile(dialect=c.dialect)
            default = f" DEFAULT '{col.server_default.arg}'" if col.server_default is not None else ""  # type: ignore[attr-defined]
            c.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {column} {ddl_type}{default}"))


MIGRATIONS = {2: _migrate_to_2, 3: _migrate_to_3}


def _chunks(values: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _stored(row: sa.Row[Any]) -> StoredVersion:
    return StoredVersion(
        story_id=row.story_id, version=row.version, status=row.status, content_hash=row.content_hash,
        document=json.loads(row.document), origin=row.origin, embargo=row.embargo, released_at=row.released_at,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")      # readers never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")    # durable at checkpoints; ~5x faster than FULL
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
