"""Locks between processes sharing one store."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine

COLLECT_LOCK = 0x77697266   # one node at a time reads the hot folder and releases versions


class Locks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def collect(self) -> Iterator[bool]:
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
