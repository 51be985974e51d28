"""A database table or query as a source (kind sql): any SQLAlchemy URL (PostgreSQL, MySQL/MariaDB, SQLite; the
driver installed beside wirepub: psycopg comes with it, PyMySQL is `pip install pymysql`).

Every `interval` seconds, the rows whose cursor column is past the last value seen, in its order, `batch` at a
time: `SELECT * FROM <table> WHERE <where> AND <cursor> >= :last ORDER BY <cursor>` (or the configured query,
wrapped: `SELECT * FROM (<query>) q WHERE ...`). The cursor column only grows (an updated_at set on every
change, or a sequence); rows at the last value seen are told apart by their id, so ties are never lost. The
cursor is kept in the store and moved once the rows before it are recorded or set aside.

Columns are story-contract fields by name (id, headline, body, summary, byline, language, keywords, subjects,
urgency, embargo, status, ...), or mapped with `columns` (headline = "title"). Lists and objects (keywords,
subjects, authors, dateline, media) may be JSON text. Times without an offset are taken as UTC. With no
version column, a changed row is the story's next version; a row whose status is withdrawn is a kill.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from wirepub.clock import Clock
from wirepub.config import SourceSettings
from wirepub.errors import SourceError, StoryError
from wirepub.progress import Progress
from wirepub.sources import Collected, Rejection
from wirepub.store import Store
from wirepub.story import Story, StoryDefaults, story_from_document
from wirepub.urls import shown

DEFAULT_INTERVAL = 30.0
FIELDS = ("id", "version", "status", "headline", "subheadline", "slug", "summary", "body", "body_format", "byline",
          "authors", "dateline", "language", "subjects", "keywords", "genre", "urgency", "embargo", "first_created",
          "version_created", "credit", "sources", "copyright_holder", "copyright_notice", "usage_terms", "url",
          "ednote", "correction", "withdrawal_note", "media")
STRUCTURED = {"authors", "dateline", "subjects", "keywords", "sources", "media"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == int(value) else float(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return value


class SQLSource:
    kind = "sql"

    def __init__(self, settings: SourceSettings, store: Store, clock: Clock, *,
                 defaults: StoryDefaults | None = None) -> None:
        self.name = settings.name
        self.store = store
        self.clock = clock
        self.interval: float | None = float(settings.option("interval", DEFAULT_INTERVAL))
        self.settings = settings
        self.cursor_column: str = settings.option("cursor")
        self.columns: dict[str, str] = dict(settings.option("columns", {}))
        self.prefix: str = settings.option("id_prefix", "")
        self.batch = int(settings.option("batch", 500))
        self.defaults = defaults or StoryDefaults(language=settings.language)
        self._engine: sa.Engine | None = None
        self._pending: set[str] = set()
        self._batch_end: tuple[Any, list[str]] | None = None

    # --- the database ---------------------------------------------------------------------------------------

    def _url(self) -> sa.URL:
        env = self.settings.option("url_env")
        raw = os.environ.get(env, "") if env else self.settings.option("url", "")
        if not raw:
            raise SourceError(f"source {self.name}: the environment variable {env} (the database URL) is not set")
        try:
            url = sa.make_url(raw)
        except sa.exc.ArgumentError:
            raise SourceError(f"source {self.name}: the database URL cannot be parsed") from None
        password_env = self.settings.option("password_env")
        if password_env:
            url = url.set(password=os.environ.get(password_env, ""))
        return url

    def _db(self) -> sa.Engine:
        if self._engine is None:
            try:
                self._engine = sa.create_engine(self._url(), pool_pre_ping=True)
            except (sa.exc.ArgumentError, ImportError) as exc:
                raise SourceError(f"source {self.name}: the database URL cannot be used: {exc}") from None
        return self._engine

    def _where(self) -> str:
        return self.settings.option("where") or "1=1"

    def _rows(self, after: Any, seen: set[str], limit: int) -> list[dict[str, Any]]:
        engine = self._db()
        q = engine.dialect.identifier_preparer.quote
        table, query = self.settings.option("table"), self.settings.option("query")
        source = (".".join(q(p) for p in table.split(".")) if table else f"({query}) wirepub_q")
        where = f"({self._where()})" if table else "1=1"
        cursor = q(self.cursor_column)
        sql = f"SELECT * FROM {source} WHERE {where}"
        params: dict[str, Any] = {"n": limit + len(seen)}
        if after is not None:
            sql += f" AND {cursor} >= :after"
            params["after"] = after
        sql += f" ORDER BY {cursor} LIMIT :n"
        try:
            with engine.connect() as c:
                return [dict(r._mapping) for r in c.execute(sa.text(sql), params)]
        except sa.exc.SQLAlchemyError as exc:
            first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["?"])[0][:300]
            raise SourceError(f"source {self.name}: the database {shown(self._url().render_as_string())} "
                              f"failed: {first}") from None

    # --- the Source protocol --------------------------------------------------------------------------------

    def _cursor(self) -> tuple[Any, set[str]]:
        raw = self.store.cursors.get(self.name)
        if raw is None:
            return None, set()
        value = json.loads(raw)
        after = value["value"]
        if value.get("type") == "datetime":
            after = datetime.fromisoformat(after).astimezone(UTC).replace(tzinfo=None)
        return after, set(value.get("ids", ()))

    def collect(self, *, settle: float = 0.0, settled: Collection[str] = (),
                only: Collection[str] | None = None, progress: Progress | None = None) -> Collected:
        out = Collected()
        after, seen = self._cursor()
        self._pending.clear()
        rows = self._rows(after, seen, self.batch)
        key = self.columns.get("id", "id")
        newest: tuple[Any, list[str]] | None = None
        taken = 0
        for row in rows:
            mark, row_id = row.get(self.cursor_column), str(_plain(row.get(key)))
            if after is not None and mark == after and row_id in seen:
                continue
            if taken >= self.batch:
                break
            taken += 1
            newest = (mark, [row_id]) if newest is None or newest[0] != mark else (mark, [*newest[1], row_id])
            ref = f"{self.name}:{self.settings.option('table') or 'query'}/{row_id}"   # one item, whatever its version
            self._pending.add(ref)
            try:
                out.stories.append(self._story(row, ref))
            except StoryError as exc:
                out.rejected.append(Rejection(ref, exc))
        if newest is not None and newest[0] == after:
            newest = (after, sorted(seen | set(newest[1])))
        self._batch_end = newest
        if not self._pending:
            self._advance()
        return out

    def _story(self, row: dict[str, Any], ref: str) -> Story:
        doc: dict[str, Any] = {}
        for name in FIELDS:
            column = self.columns.get(name, name)
            value = _plain(row.get(column))
            if value is None:
                continue
            if name in STRUCTURED and isinstance(value, str) and value.strip()[:1] in ("[", "{"):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    raise StoryError("not valid JSON", file=ref, field=column) from None
            doc[name] = value
        if "id" in doc:
            doc["id"] = f"{self.prefix}{doc['id']}"
        mark = row.get(self.cursor_column)
        if "version_created" not in doc and isinstance(mark, datetime):
            doc["version_created"] = _plain(mark)
        return story_from_document(doc, origin=ref, defaults=self._defaults())

    def _defaults(self) -> StoryDefaults:
        import dataclasses

        return dataclasses.replace(self.defaults, version_created=self.clock.now())

    def read(self, ref: str) -> Story:
        raise StoryError("a row is read by `wirepub push --source NAME`, not one by one", file=ref)

    def done(self, refs: Sequence[str]) -> None:
        for ref in refs:
            self._settle(ref)

    def reject(self, rejection: Rejection) -> None:
        self._settle(rejection.ref)

    def _settle(self, ref: str) -> None:
        if ref in self._pending:
            self._pending.discard(ref)
            if not self._pending:
                self._advance()

    def _advance(self) -> None:
        if self._batch_end is None:
            return
        mark, ids = self._batch_end
        kind = "datetime" if isinstance(mark, datetime) else "value"
        value = _plain(mark) if kind == "datetime" else mark
        self.store.cursors.set(self.name, json.dumps({"value": value, "type": kind, "ids": ids}, default=str),
                               self.clock.now())
        self._batch_end = None

    def check(self) -> str:
        after, seen = self._cursor()
        rows = self._rows(after, seen, 1)
        where = f"past {after}" if after is not None else "in all"
        return (f"{shown(self._url().render_as_string())}: connected; "
                f"{'a row' if rows else 'no row'} {where} to read")
