"""Index hints SQLite obeys. The claim, the feed-copy pruning and the kill count name the partial index
they must read (`Select.with_hint(table, "INDEXED BY ix_...", "sqlite")`): without statistics SQLite's
planner ties a partial index of open work with a full index on the same leading column, picks the full
one, and reads a partner's whole archive per call. SQLAlchemy's SQLite compiler drops table hints (only
its MySQL, SQL Server and Oracle compilers write them); this one writes them after the table's name, the
place SQLite's grammar gives `INDEXED BY`. PostgreSQL plans by its statistics and gets no hint."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Engine


class HintingSQLiteCompiler(SQLiteCompiler):
    def get_from_hint_text(self, table: Any, text: str | None) -> str | None:
        return text


def honour_index_hints(engine: Engine) -> None:
    """This engine's SQLite statements carry their `INDEXED BY` hints (no other engine is touched)."""
    if engine.dialect.name == "sqlite":
        engine.dialect.statement_compiler = HintingSQLiteCompiler
