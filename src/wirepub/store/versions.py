"""Story versions as recorded: what was seen, what is due, what is held, what was released."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wirepub.store.rows import NewVersion, StoredVersion
from wirepub.store.schema import story_versions
from wirepub.vocabulary import StoryStatus

sv = story_versions.c
WAITING = (sv.released_at.is_(None), sv.failed_at.is_(None), sv.dropped_at.is_(None))  # may still go out


class Versions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def content_hash_of(self, story_id: str, version: int) -> str | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(sv.content_hash).where(sv.story_id == story_id, sv.version == version)).first()
        return row.content_hash if row else None

    def record(self, new: NewVersion, now: datetime) -> str | None:
        """Insert a version unless one with its id and number exists; returns the content hash recorded
        before (None if this one is new). A version that failed to render and was never released is
        replaced by new content under its number: that is how a newsroom fixes it."""
        values = {"status": new.status, "content_hash": new.content_hash, "origin": new.origin,
                  "document": json.dumps(new.document, ensure_ascii=False, sort_keys=True),
                  "version_created": new.version_created, "embargo": new.embargo, "seen_at": now,
                  "headline": new.document.get("headline"), "id_lower": new.story_id.lower()}
        key = (sv.story_id == new.story_id, sv.version == new.version)
        with self.engine.begin() as c:
            known = c.execute(sa.select(sv.content_hash, sv.failed_at, sv.released_at).where(*key)).first()
            if known is None:
                c.execute(story_versions.insert().values(story_id=new.story_id, version=new.version, **values))
                return None
            if known.failed_at is None or known.released_at is not None or known.content_hash == new.content_hash:
                return str(known.content_hash)
            c.execute(story_versions.update().where(*key).values(**values, failed_at=None, failure=None,
                                                                 dropped_at=None))
            return None

    def mark_failed(self, story_id: str, version: int, failure: str, now: datetime) -> None:
        """This version cannot be rendered: hold it (out of `due`) until it is fixed or dropped."""
        with self.engine.begin() as c:
            c.execute(story_versions.update().where(sv.story_id == story_id, sv.version == version,
                                                    sv.failed_at.is_(None))
                      .values(failed_at=now, failure=failure[:4000]))

    def drop(self, story_id: str, version: int, now: datetime) -> bool:
        """Never release this version (it was not released yet); False if there is no such unreleased one."""
        with self.engine.begin() as c:
            done = c.execute(story_versions.update().where(sv.story_id == story_id, sv.version == version,
                                                           sv.released_at.is_(None), sv.dropped_at.is_(None))
                             .values(dropped_at=now)).rowcount
        return bool(done)

    def case_twin(self, story_id: str) -> str | None:
        """A recorded id that differs from this one only in case (they collide on case-insensitive
        destinations), or None."""
        with self.engine.connect() as c:
            found = c.execute(sa.select(sv.story_id).where(sv.id_lower == story_id.lower(), sv.story_id != story_id)
                              .limit(1)).scalar()
        return str(found) if found is not None else None

    def origins(self, story_id: str) -> set[str]:
        """Where this story's versions were read from."""
        with self.engine.connect() as c:
            return set(c.execute(sa.select(sv.origin).where(sv.story_id == story_id).distinct()).scalars())

    def latest(self, story_id: str, *, live: bool = False) -> StoredVersion | None:
        """The highest version recorded (live: leaving out dropped ones)."""
        query = sa.select(story_versions).where(sv.story_id == story_id)
        if live:
            query = query.where(sv.dropped_at.is_(None))
        with self.engine.connect() as c:
            row = c.execute(query.order_by(sv.version.desc()).limit(1)).first()
        return StoredVersion.of(row) if row else None

    def has_content(self, story_id: str, content_hash: str) -> bool:
        """Was this exact content recorded for this story, as any version?"""
        with self.engine.connect() as c:
            return c.execute(sa.select(sv.version).where(sv.story_id == story_id, sv.content_hash == content_hash)
                             .limit(1)).first() is not None

    def due(self, now: datetime) -> list[StoredVersion]:
        """Versions not yet released whose embargo, if any, has passed; oldest first."""
        return self._select(sa.select(story_versions)
                            .where(*WAITING, sa.or_(sv.embargo.is_(None), sv.embargo <= now))
                            .order_by(sv.version_created, sv.story_id, sv.version))

    def held(self, now: datetime) -> list[StoredVersion]:
        """Versions waiting for their embargo."""
        return self._select(sa.select(story_versions).where(*WAITING, sv.embargo > now).order_by(sv.embargo))

    def embargoed_unsent(self, now: datetime) -> list[StoredVersion]:
        """Held versions not yet sent early to the partners trusted with embargoed copy."""
        return self._select(sa.select(story_versions)
                            .where(*WAITING, sv.embargo > now, sv.embargo_sent_at.is_(None))
                            .order_by(sv.embargo))

    def next_embargo(self, now: datetime) -> datetime | None:
        """The earliest time a held version may go."""
        with self.engine.connect() as c:
            return c.execute(sa.select(sa.func.min(sv.embargo)).where(*WAITING, sv.embargo > now)).scalar()

    def last_release(self) -> datetime | None:
        """When a version was last released: the feeds are as of then."""
        with self.engine.connect() as c:
            return c.execute(sa.select(sa.func.max(sv.released_at))).scalar()

    def latest_released(self, limit: int, offset: int = 0, *, withdrawn: bool = False) -> list[StoredVersion]:
        """The latest released version of each story, newest first, leaving out withdrawn stories unless asked."""
        latest = (sa.select(sv.story_id, sa.func.max(sv.version).label("version"))
                  .where(sv.released_at.is_not(None)).group_by(sv.story_id).subquery())
        return self._select(
            sa.select(story_versions)
            .join(latest, sa.and_(sv.story_id == latest.c.story_id, sv.version == latest.c.version))
            .where(sa.true() if withdrawn else sv.status == StoryStatus.APPROVED)
            .order_by(sv.version_created.desc(), sv.story_id).limit(limit).offset(offset))

    def _select(self, query: sa.Select[tuple[object, ...]]) -> list[StoredVersion]:
        with self.engine.connect() as c:
            return [StoredVersion.of(r) for r in c.execute(query).all()]


def mark(c: sa.Connection, column: str, versions: Sequence[tuple[str, int]], now: datetime) -> None:
    """Set released_at or embargo_sent_at of these versions to now (inside the caller's transaction)."""
    if versions:
        c.execute(story_versions.update().where(sv.story_id == sa.bindparam("sid"), sv.version == sa.bindparam("ver"))
                  .values({column: now}), [{"sid": i, "ver": v} for i, v in versions])
