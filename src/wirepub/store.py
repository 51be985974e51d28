"""The store: the record of every story version seen and every document delivered. The only module that
writes SQL. SQLAlchemy Core, so the same code runs on the default SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from wirepub.errors import ConfigError

SCHEMA_VERSION = 1


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
)
sa.Index("ix_story_versions_pending", story_versions.c.released_at, story_versions.c.embargo)

deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("partner", sa.String(128), nullable=False),
    sa.Column("destination", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("format", sa.String(32), nullable=False),
    sa.Column("story_id", sa.String(128), nullable=True),   # None for a feed document
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),     # delivered (pending/failed/dead come with retries)
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("partner", "destination", "path", "sha256", name="uq_delivery_document"),
)
sa.Index("ix_deliveries_path", deliveries.c.partner, deliveries.c.destination, deliveries.c.path)


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
            self.engine: Engine = sa.create_engine(url)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise ConfigError(f"store URL cannot be used: {exc}", key="store.url") from None
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._migrate()

    def _migrate(self) -> None:
        metadata.create_all(self.engine)
        with self.engine.begin() as c:
            row = c.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).first()
            if row is None:
                c.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(row.value) > SCHEMA_VERSION:
                raise ConfigError(
                    f"the store at {self.url} has schema version {row.value}, newer than this wirepub "
                    f"understands ({SCHEMA_VERSION}); upgrade wirepub", key="store.url")

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

    def mark_released(self, story_id: str, version: int, at: datetime) -> None:
        with self.engine.begin() as c:
            c.execute(story_versions.update()
                      .where(story_versions.c.story_id == story_id, story_versions.c.version == version)
                      .values(released_at=at))

    def feed_versions(self, limit: int) -> list[StoredVersion]:
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
            .order_by(sv.version_created.desc(), sv.story_id).limit(limit)
        )
        with self.engine.connect() as c:
            return [_stored(r) for r in c.execute(query).all()]

    # --- deliveries ---------------------------------------------------------------------------

    def delivered(self, *, partner: str, destination: str, path: str, sha256: str | None = None) -> bool:
        """Was a document delivered at this path (with these exact bytes, when sha256 is given)?"""
        d = deliveries.c
        query = sa.select(d.id).where(d.partner == partner, d.destination == destination, d.path == path,
                                      d.state == "delivered")
        if sha256 is not None:
            query = query.where(d.sha256 == sha256)
        with self.engine.connect() as c:
            return c.execute(query.limit(1)).first() is not None

    def last_delivered_sha(self, *, partner: str, destination: str, path: str) -> str | None:
        d = deliveries.c
        with self.engine.connect() as c:
            row = c.execute(
                sa.select(d.sha256).where(d.partner == partner, d.destination == destination, d.path == path,
                                          d.state == "delivered")
                .order_by(d.delivered_at.desc(), d.id.desc()).limit(1)
            ).first()
        return row.sha256 if row else None

    def received(self, partner: str, story_id: str) -> bool:
        """Did this partner get any version of this story?"""
        d = deliveries.c
        with self.engine.connect() as c:
            return c.execute(sa.select(d.id).where(d.partner == partner, d.story_id == story_id,
                                                   d.state == "delivered").limit(1)).first() is not None

    def record_deliveries(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Record documents delivered; one transaction for the batch (the ledger's cost stays small)."""
        if not rows:
            return
        with self.engine.begin() as c:
            for row in rows:
                exists = c.execute(sa.select(deliveries.c.id).where(
                    deliveries.c.partner == row["partner"], deliveries.c.destination == row["destination"],
                    deliveries.c.path == row["path"], deliveries.c.sha256 == row["sha256"])).first()
                if exists is None:
                    c.execute(deliveries.insert().values(state="delivered", **row))
                else:  # the same bytes again (a feed that changed back): it is the latest again
                    c.execute(deliveries.update().where(deliveries.c.id == exists.id)
                              .values(state="delivered", delivered_at=row["delivered_at"]))

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as c:
            versions = c.execute(sa.select(sa.func.count()).select_from(story_versions)).scalar_one()
            docs = c.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar_one()
        return {"story_versions": versions, "deliveries": docs}


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
