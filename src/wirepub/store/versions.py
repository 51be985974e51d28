"""Story versions as recorded: what was seen, what is due, what is held, what was released."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wirepub.store.rows import Known, NewVersion, StoredVersion
from wirepub.store.schema import story_versions
from wirepub.vocabulary import StoryStatus

_T = TypeVar("_T")
sv = story_versions.c
WAITING = (sv.released_at.is_(None), sv.failed_at.is_(None), sv.dropped_at.is_(None))  # may still go out


class Versions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, new: NewVersion, now: datetime) -> str | None:
        """Insert a version unless one with its id and number exists; returns the content hash recorded
        before (None if this one is new). A version that failed to render and was never released is
        replaced by new content under its number: that is how a newsroom fixes it."""
        values = _values(new, now)
        key = (sv.story_id == new.story_id, sv.version == new.version)
        with self.engine.begin() as c:
            known = c.execute(sa.select(sv.content_hash, sv.failed_at, sv.released_at).where(*key)).first()
            if known is None:
                c.execute(story_versions.insert().values(story_id=new.story_id, version=new.version, **values))
                return None
            if known.failed_at is None or known.released_at is not None or known.content_hash == new.content_hash:
                return str(known.content_hash)
            c.execute(story_versions.update().where(*key).values(**values, failed_at=None, failure=None,
                                                                 dropped_at=None, release_owner=None,
                                                                 release_until=None))
            return None

    def record_many(self, news: Sequence[NewVersion], now: datetime) -> dict[tuple[str, int], str | None]:
        """record() for a batch, in one transaction: (id, version) -> the content hash recorded before, or
        None where this one is new (or replaced a failed one). A row the database refuses fails the whole
        batch (the caller then records one by one, to set that one aside)."""
        out: dict[tuple[str, int], str | None] = {}
        with self.engine.begin() as c:
            known: dict[tuple[str, int], Any] = {}
            keys = [(n.story_id, n.version) for n in news]
            for chunk in _chunks(keys, 400):
                rows = c.execute(sa.select(sv.story_id, sv.version, sv.content_hash, sv.failed_at, sv.released_at)
                                 .where(sa.tuple_(sv.story_id, sv.version).in_(chunk))).all()
                known.update({(r.story_id, r.version): r for r in rows})
            fresh, replaced = [], []
            for new in news:
                key, row = (new.story_id, new.version), known.get((new.story_id, new.version))
                if row is None:
                    fresh.append({"story_id": new.story_id, "version": new.version, **_values(new, now)})
                    known[key], out[key] = new, None
                elif row.failed_at is None or row.released_at is not None or row.content_hash == new.content_hash:
                    out[key] = str(row.content_hash)
                else:
                    replaced.append({"sid": new.story_id, "ver": new.version, **_values(new, now)})
                    out[key] = None
            if fresh:
                c.execute(story_versions.insert(), fresh)
            for values in replaced:
                c.execute(story_versions.update().where(sv.story_id == values.pop("sid"),
                                                        sv.version == values.pop("ver"))
                          .values(**values, failed_at=None, failure=None, dropped_at=None, release_owner=None,
                                  release_until=None))
        return out

    def known(self, story_ids: Collection[str]) -> Known:
        """What the store holds of these stories, in a few queries for the whole batch."""
        ids = sorted(set(story_ids))
        found = Known()
        with self.engine.connect() as c:
            for chunk in _chunks(ids, 400):
                for r in c.execute(sa.select(story_versions).where(sv.story_id.in_(chunk))).all():
                    found.add(StoredVersion.of(r))
                lowered = sorted({i.lower() for i in chunk})
                for sid in c.execute(sa.select(sv.story_id).distinct().where(sv.id_lower.in_(lowered))).scalars():
                    found.ids_by_lower.setdefault(sid.lower(), set()).add(sid)
        return found

    def mark_failed(self, story_id: str, version: int, failure: str, now: datetime) -> None:
        """This version cannot be rendered: hold it (out of `due`) until it is fixed or dropped."""
        with self.engine.begin() as c:
            c.execute(story_versions.update().where(sv.story_id == story_id, sv.version == version,
                                                    sv.failed_at.is_(None))
                      .values(failed_at=now, failure=failure[:4000], release_owner=None, release_until=None))

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

    def claim_due(self, node: str, now: datetime, *, lease_seconds: float, limit: int,
                  early: bool = False) -> list[StoredVersion]:
        """Take versions to release (early: embargoed ones not yet sent to partners trusted with embargoed
        copy), oldest first, leased to this node until now + lease_seconds, so several nodes release at once
        and none twice. PostgreSQL skips rows another node has locked; SQLite locks before it reads."""
        when = (sv.embargo > now, sv.embargo_sent_at.is_(None)) if early else (
            sa.or_(sv.embargo.is_(None), sv.embargo <= now),)
        chosen = (sa.select(sv.story_id, sv.version)
                  .where(*WAITING, *when, sa.or_(sv.release_until.is_(None), sv.release_until < now))
                  .order_by(sv.version_created, sv.story_id, sv.version).limit(limit))
        with self.engine.connect() as c:   # a read first: a collect with nothing due takes no write lock
            if c.execute(chosen.limit(1)).first() is None:
                return []
        chosen = chosen.with_for_update(skip_locked=True)
        with self.engine.begin() as c:
            rows = c.execute(story_versions.update()
                             .where(sa.tuple_(sv.story_id, sv.version).in_(chosen))
                             .values(release_owner=node, release_until=now + timedelta(seconds=lease_seconds))
                             .returning(*story_versions.c)).all()
        return sorted((StoredVersion.of(r) for r in rows), key=lambda v: (v.version_created, v.story_id, v.version))

    def give_back(self, node: str, versions: Sequence[tuple[str, int]]) -> None:
        """Versions this node claimed and did not release (it failed, or stops): any node may take them now."""
        with self.engine.begin() as c:
            for story_id, version in versions:
                c.execute(story_versions.update().where(sv.story_id == story_id, sv.version == version,
                                                        sv.release_owner == node)
                          .values(release_owner=None, release_until=None))

    def count_due(self, now: datetime) -> int:
        with self.engine.connect() as c:
            return int(c.execute(sa.select(sa.func.count()).select_from(story_versions)
                                 .where(*WAITING, sa.or_(sv.embargo.is_(None), sv.embargo <= now))).scalar_one())

    def due(self, now: datetime) -> list[StoredVersion]:
        """Versions not yet released whose embargo, if any, has passed; oldest first."""
        return self._select(sa.select(story_versions)
                            .where(*WAITING, sa.or_(sv.embargo.is_(None), sv.embargo <= now))
                            .order_by(sv.version_created, sv.story_id, sv.version))

    def held(self, now: datetime) -> list[StoredVersion]:
        """Versions waiting for their embargo."""
        return self._select(sa.select(story_versions).where(*WAITING, sv.embargo > now).order_by(sv.embargo))

    def next_embargo(self, now: datetime) -> datetime | None:
        """The earliest time a held version may go."""
        with self.engine.connect() as c:
            return c.execute(sa.select(sa.func.min(sv.embargo)).where(*WAITING, sv.embargo > now)).scalar()

    def withdrawn_before(self, cutoff: datetime) -> int:
        """How many released kills were made (version_created) at or before `cutoff`."""
        with self.engine.connect() as c:
            return int(c.execute(sa.select(sa.func.count()).select_from(story_versions)
                                 .with_hint(story_versions, "INDEXED BY ix_story_versions_kills", "sqlite")
                                 .where(sa.text("story_versions.status = 'withdrawn'"), sv.released_at.is_not(None),
                                        sv.version_created <= cutoff)).scalar_one())

    def latest_released(self, limit: int, offset: int = 0, *, withdrawn: bool = False) -> list[StoredVersion]:
        """The latest released version of each story, newest first, leaving out withdrawn stories unless asked.
        Read backwards along ix_story_versions_released, as far as the page goes: never the whole archive."""
        newer = story_versions.alias("newer")
        return self._select(
            sa.select(story_versions)
            .with_hint(story_versions, "INDEXED BY ix_story_versions_released", "sqlite")
            .where(sa.text("story_versions.released_at IS NOT NULL"),
                   ~sa.exists().where(newer.c.story_id == sv.story_id, newer.c.version > sv.version,
                                      newer.c.released_at.is_not(None)),
                   sa.true() if withdrawn else sv.status == StoryStatus.APPROVED)
            .order_by(sv.version_created.desc(), sv.story_id.desc()).limit(limit).offset(offset))

    def _select(self, query: sa.Select[tuple[object, ...]]) -> list[StoredVersion]:
        with self.engine.connect() as c:
            return [StoredVersion.of(r) for r in c.execute(query).all()]


def _values(new: NewVersion, now: datetime) -> dict[str, Any]:
    return {"status": new.status, "content_hash": new.content_hash, "origin": new.origin,
            "document": json.dumps(new.document, ensure_ascii=False, sort_keys=True),
            "version_created": new.version_created, "embargo": new.embargo, "seen_at": now,
            "headline": new.document.get("headline"), "id_lower": new.story_id.lower()}


def _chunks(values: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def mark(c: sa.Connection, column: str, versions: Sequence[tuple[str, int]], now: datetime) -> None:
    """Set released_at or embargo_sent_at of these versions to now (inside the caller's transaction), and end
    the lease of the node that released them: at its embargo time an early-sent version is free to go."""
    if versions:
        c.execute(story_versions.update().where(sv.story_id == sa.bindparam("sid"), sv.version == sa.bindparam("ver"))
                  .values({column: now, "release_owner": None, "release_until": None}),
                  [{"sid": i, "ver": v} for i, v in versions])
