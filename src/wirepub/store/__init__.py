"""The store: the record of every story version seen and every document delivered, and the only place
that writes SQL. SQLAlchemy Core, so the same code runs on the default SQLite file and on PostgreSQL.

One concern per module, each reached through the Store:
  schema.py     the tables                       migrate.py  Alembic, online (migrations/)
  versions.py   story versions (store.versions)  ledger.py   the delivery outbox (store.ledger)
  reads.py      read models for the desk (store.reads)
  locks.py      locks between processes (store.locks)    notices.py  what a node says is wrong (store.notices)
  holds.py      stories a partner profile holds back (store.holds)
  source_items.py  what each source has read, by fingerprint (store.source_items)
  upkeep.py     old feed copies forgotten, counts and marks in wirepub_meta, the store's size (store.upkeep)
  sources.py    what sources keep: cursors, the ingest API's inbox, S3 claims, rejections, assets
  hints.py      SQLite made to obey the index hints of the queries that must not read the archive
The store holds no business rule: what to record, what goes where and what supersedes what is decided by
the flow (publisher, routing, feeds) and handed to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wirepub.errors import ConfigError
from wirepub.store.hints import honour_index_hints
from wirepub.store.holds import HeldRow, Holds
from wirepub.store.ledger import Ledger, LedgerBatch
from wirepub.store.locks import Locks
from wirepub.store.migrate import SCHEMA_VERSION, migrate
from wirepub.store.notices import Notice, Notices
from wirepub.store.reads import Reads
from wirepub.store.rows import DueDelivery, FeedCopy, Known, NewDelivery, NewVersion, Outcome, StoredVersion
from wirepub.store.schema import deliveries, documents, story_versions
from wirepub.store.source_items import SourceItems
from wirepub.store.sources import Assets, Claims, Cursors, Inbox, InboxEntry, Rejections, StoredRejection
from wirepub.store.trouble import store_error
from wirepub.store.upkeep import Upkeep
from wirepub.store.versions import Versions

__all__ = ["SCHEMA_VERSION", "DueDelivery", "FeedCopy", "HeldRow", "InboxEntry", "Known", "Ledger", "LedgerBatch",
           "NewDelivery", "NewVersion", "Notice", "Outcome", "Store", "StoredRejection", "StoredVersion", "deliveries",
           "documents", "shown_url", "story_versions"]


class Store:
    def __init__(self, url: str, *, connections: int = 5) -> None:
        """connections: how many the pool keeps open; give it the number of threads that use the store at
        once (the delivery workers and the loop), so none is opened and closed per delivery."""
        self.url = url
        try:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            # pre-ping: a connection the database dropped (a restart, a failover) is replaced, not used
            pooled = {} if url.rstrip("/") in ("sqlite:", "sqlite://", "sqlite:///:memory:") else {
                "pool_size": connections, "max_overflow": connections}
            self.engine: Engine = sa.create_engine(url, pool_pre_ping=True, **pooled)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise ConfigError(f"store URL cannot be used: {exc}", key="store.url") from None
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            honour_index_hints(self.engine)
        try:
            migrate(self.engine, shown_url(url))
        except sa.exc.SQLAlchemyError as exc:
            self.engine.dispose()
            raise store_error(exc, shown_url(url)) from None
        self.versions = Versions(self.engine)
        self.ledger = Ledger(self.engine)
        self.reads = Reads(self.engine)
        self.locks = Locks(self.engine)
        self.notices = Notices(self.engine)
        self.holds = Holds(self.engine)
        self.source_items = SourceItems(self.engine)
        self.upkeep = Upkeep(self.engine)
        self.cursors = Cursors(self.engine)
        self.inbox = Inbox(self.engine)
        self.claims = Claims(self.engine)
        self.rejections = Rejections(self.engine)
        self.assets = Assets(self.engine)

    def ping(self) -> None:
        """Raises if the store does not answer."""
        with self.engine.connect() as c:
            c.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()


def shown_url(url: str) -> str:
    """A store URL without its password, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        raise ConfigError("store URL cannot be parsed", key="store.url") from None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")      # readers never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")    # durable at checkpoints; ~5x faster than FULL
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
