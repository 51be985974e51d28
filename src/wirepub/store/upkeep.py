"""Keeping the store bounded and knowing its state: old feed copies' bytes forgotten, the count of releases
and what the feeds were built as of (kept in wirepub_meta), and how much room the store takes."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from wirepub.store.schema import deliveries, documents, meta
from wirepub.vocabulary import OPEN_STATES, DeliveryKind

d = deliveries.c


class Upkeep:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def prune_feed_bodies(self, older_than: datetime, *, batch: int = 1000) -> int:
        """Forget the bytes of feed copies made before `older_than` that a newer copy of the same feed
        replaced (their ledger rows stay): the ledger keeps every item and every row, but not every feed
        copy ever made. Pages through the old copies by ix_deliveries_feed_copies. Returns how many
        documents were removed."""
        newer = deliveries.alias("newer")
        kept = deliveries.alias("kept")
        still_needed = sa.exists().where(kept.c.sha256 == documents.c.sha256, sa.or_(
            kept.c.kind != DeliveryKind.FEED, kept.c.state.in_(OPEN_STATES), kept.c.created_at >= older_than,
            ~sa.exists().where(newer.c.partner == kept.c.partner, newer.c.destination == kept.c.destination,
                               newer.c.path == kept.c.path, newer.c.id > kept.c.id)))
        removed, after = 0, (older_than - timedelta(days=365_000), 0)
        while True:
            with self.engine.begin() as c:
                page = c.execute(
                    sa.select(d.created_at, d.id, d.sha256)
                    .with_hint(deliveries, "INDEXED BY ix_deliveries_feed_copies", "sqlite")
                    .where(sa.text("deliveries.kind = 'feed'"), d.created_at < older_than,
                           sa.tuple_(d.created_at, d.id) > sa.tuple_(*after))
                    .order_by(d.created_at, d.id).limit(batch)).all()
                if page:
                    shas = list(c.execute(sa.select(documents.c.sha256).where(
                        documents.c.sha256.in_({r.sha256 for r in page}), ~still_needed)).scalars())
                    if shas:
                        c.execute(documents.delete().where(documents.c.sha256.in_(shas)))
                        removed += len(shas)
            if len(page) < batch:
                return removed
            after = (page[-1].created_at, page[-1].id)

    def last_pruned(self) -> datetime | None:
        value = self._meta("feeds_pruned_at")
        return datetime.fromisoformat(value) if value else None

    def pruned(self, now: datetime) -> None:
        self._set_meta("feeds_pruned_at", now.isoformat())

    def releases(self) -> int:
        """How many versions were ever released (LedgerBatch.released counts them)."""
        return int(self._meta("releases") or 0)

    def feeds_as_of(self) -> str | None:
        """What the feeds in the ledger were last built as of (Feeds.rebuild says what that means)."""
        return self._meta("feeds_as_of")

    def _meta(self, key: str) -> str | None:
        with self.engine.connect() as c:
            value = c.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar()
        return str(value) if value is not None else None

    def _set_meta(self, key: str, value: str) -> None:
        with self.engine.begin() as c:
            put_meta(c, key, value)

    def size_bytes(self) -> int | None:
        """How much room the store takes (SQLite: its file and journal; PostgreSQL: its database)."""
        with self.engine.connect() as c:
            if self.engine.dialect.name == "postgresql":
                return int(c.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one())
            if self.engine.dialect.name == "sqlite":
                pages = c.execute(sa.text("PRAGMA page_count")).scalar_one()
                size = c.execute(sa.text("PRAGMA page_size")).scalar_one()
                return int(pages) * int(size)
        return None


def put_meta(c: Connection, key: str, value: str, *, existing: sa.ColumnElement[str] | None = None) -> None:
    """Set a wirepub_meta value inside the caller's transaction; `existing`: what a value already there becomes
    instead (a count that goes up, say), in the same statement."""
    insert = (postgresql.insert if c.dialect.name == "postgresql" else sqlite.insert)(meta)
    c.execute(insert.values(key=key, value=value).on_conflict_do_update(
        index_elements=[meta.c.key], set_={"value": value if existing is None else existing}))
