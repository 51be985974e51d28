"""What sources keep in the store, as primitives (no rule about what to keep: that is the sources' and the
flow's): pull sources' cursors, the ingest API's inbox, S3 objects claimed by one node, rejections for the desk,
and Superdesk's pictures."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wirepub.store.schema import assets, inbox, object_claims, rejections, source_cursors
from wirepub.vocabulary import ClaimState, InboxState

ib = inbox.c
oc = object_claims.c
rj = rejections.c


class Cursors:
    """One value per pull source: where it got to."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, source: str) -> str | None:
        with self.engine.connect() as c:
            value = c.execute(sa.select(source_cursors.c.value).where(source_cursors.c.source == source)).scalar()
        return None if value is None else str(value)

    def set(self, source: str, value: str, now: datetime) -> None:
        with self.engine.begin() as c:
            done = c.execute(source_cursors.update().where(source_cursors.c.source == source)
                             .values(value=value, updated_at=now)).rowcount
            if not done:
                c.execute(source_cursors.insert().values(source=source, value=value, updated_at=now))


@dataclass(frozen=True, slots=True)
class InboxEntry:
    id: int
    source: str
    story_id: str
    version: int
    content_hash: str
    document: dict[str, Any]
    state: InboxState
    error: str | None
    received_at: datetime


class Inbox:
    """Stories the ingest API accepted, waiting for (or past) the collect. A row per story id and version."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def offer(self, source: str, story_id: str, version: int, content_hash: str, document: dict[str, Any],
              now: datetime) -> bool:
        """Record it as queued; False if a row with this story id and version is there already (the unique
        constraint decides, across nodes)."""
        try:
            with self.engine.begin() as c:
                c.execute(inbox.insert().values(
                    source=source, story_id=story_id, version=version, content_hash=content_hash,
                    document=json.dumps(document, ensure_ascii=False, sort_keys=True), state=InboxState.QUEUED,
                    received_at=now))
        except sa.exc.IntegrityError:
            return False
        return True

    def entry(self, story_id: str, version: int) -> InboxEntry | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(inbox).where(ib.story_id == story_id, ib.version == version)).first()
        return _entry(row) if row else None

    def of_story(self, story_id: str) -> list[InboxEntry]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(inbox).where(ib.story_id == story_id).order_by(ib.version)).all()
        return [_entry(r) for r in rows]

    def waiting(self, source: str, limit: int) -> list[InboxEntry]:
        """Queued rows of this source, oldest first."""
        with self.engine.connect() as c:
            rows = c.execute(sa.select(inbox).where(ib.state == InboxState.QUEUED, ib.source == source)
                             .order_by(ib.id).limit(limit)).all()
        return [_entry(r) for r in rows]

    def queued(self, source: str) -> int:
        with self.engine.connect() as c:
            return int(c.execute(sa.select(sa.func.count()).select_from(inbox)
                                 .where(ib.state == InboxState.QUEUED, ib.source == source)).scalar_one())

    def settle_many(self, ids: list[int], state: InboxState, now: datetime) -> None:
        """Mark these rows; a recorded one keeps its content hash (retries are still answered) but not its
        document, which story_versions now holds: the inbox does not grow with the archive."""
        values: dict[str, Any] = {"state": state, "settled_at": now}
        if state == InboxState.RECORDED:
            values["document"] = "{}"
        with self.engine.begin() as c:
            for i in range(0, len(ids), 500):
                c.execute(inbox.update().where(ib.id.in_(ids[i:i + 500])).values(**values))

    def settle(self, entry_id: int, state: InboxState, now: datetime, error: str | None = None) -> None:
        with self.engine.begin() as c:
            c.execute(inbox.update().where(ib.id == entry_id)
                      .values(state=state, error=None if error is None else error[:4000], settled_at=now))


def _entry(row: sa.Row[Any]) -> InboxEntry:
    return InboxEntry(id=row.id, source=row.source, story_id=row.story_id, version=row.version,
                      content_hash=row.content_hash, document=json.loads(row.document), state=InboxState(row.state),
                      error=row.error, received_at=row.received_at)


class Claims:
    """Objects of an S3 inbox, each taken by one node: claim, then done or rejected."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(self, source: str, key: str, etag: str, node: str, now: datetime, *, seconds: float) -> bool:
        """Take this object (at this ETag) for `seconds`; False if it is done, rejected, or claimed by another
        node whose claim has not run out."""
        until = now + timedelta(seconds=seconds)
        where = (oc.source == source, oc.key == key, oc.etag == etag)
        try:
            with self.engine.begin() as c:
                taken = c.execute(object_claims.update().where(
                    *where, oc.state == ClaimState.CLAIMED, sa.or_(oc.claimed_until < now, oc.node == node))
                    .values(node=node, claimed_until=until)).rowcount
                if taken:
                    return True
                if c.execute(sa.select(oc.state).where(*where)).first() is not None:
                    return False
                c.execute(object_claims.insert().values(source=source, key=key, etag=etag, node=node,
                                                        state=ClaimState.CLAIMED, claimed_until=until))
        except sa.exc.IntegrityError:
            return False   # another node inserted it first
        return True

    def settle(self, source: str, key: str, etag: str, state: ClaimState, now: datetime) -> None:
        with self.engine.begin() as c:
            c.execute(object_claims.update().where(oc.source == source, oc.key == key, oc.etag == etag)
                      .values(state=state, settled_at=now))

    def settled(self, source: str, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (key, etag) are done or rejected."""
        found: set[tuple[str, str]] = set()
        with self.engine.connect() as c:
            for i in range(0, len(keys), 500):
                chunk = [k for k, _ in keys[i:i + 500]]
                rows = c.execute(sa.select(oc.key, oc.etag).where(oc.source == source, oc.key.in_(chunk),
                                                                  oc.state != ClaimState.CLAIMED)).all()
                found |= {(r.key, r.etag) for r in rows}
        return found & set(keys)


@dataclass(frozen=True, slots=True)
class StoredRejection:
    source: str
    ref: str
    field: str | None
    reason: str
    at: datetime


KEPT_FOR = timedelta(days=7)   # a rejection nobody corrected is forgotten after this (the folder keeps the file)


class Rejections:
    """What sources offered and could not be published, per source and item; cleared when the item is recorded,
    and forgotten KEPT_FOR after it was last seen."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def note(self, source: str, ref: str, field: str | None, reason: str, now: datetime) -> None:
        ref = _text(ref)[:1024]
        with self.engine.begin() as c:
            done = c.execute(rejections.update().where(rj.source == source, rj.ref == ref)
                             .values(field=field, reason=reason[:4000], at=now)).rowcount
            if not done:
                c.execute(rejections.insert().values(source=source, ref=ref, field=field, reason=reason[:4000],
                                                     at=now))
                c.execute(rejections.delete().where(rj.at < now - KEPT_FOR))

    def clear(self, source: str, refs: list[str]) -> None:
        if not refs:
            return
        with self.engine.begin() as c:
            for i in range(0, len(refs), 500):
                c.execute(rejections.delete().where(rj.source == source,
                                                    rj.ref.in_([_text(r)[:1024] for r in refs[i:i + 500]])))

    def recent(self, limit: int = 50) -> list[StoredRejection]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(rejections).order_by(rj.at.desc(), rj.source, rj.ref).limit(limit)).all()
        return [StoredRejection(r.source, r.ref, r.field, r.reason, r.at) for r in rows]

    def count(self) -> int:
        with self.engine.connect() as c:
            return int(c.execute(sa.select(sa.func.count()).select_from(rejections)).scalar_one())


def _text(ref: str) -> str:
    """A ref as the database can take it: a file name that is not UTF-8 shows its bad bytes as U+FFFD."""
    return ref.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class Assets:
    """Pictures pushed by a Superdesk, by media id."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, source: str, media_id: str, media_type: str, body: bytes, now: datetime) -> None:
        with self.engine.begin() as c:
            done = c.execute(assets.update().where(assets.c.source == source, assets.c.media_id == media_id)
                             .values(media_type=media_type, body=body, received_at=now)).rowcount
            if not done:
                c.execute(assets.insert().values(source=source, media_id=media_id, media_type=media_type, body=body,
                                                 received_at=now))

    def get(self, source: str, media_id: str) -> tuple[str, bytes] | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(assets.c.media_type, assets.c.body).where(
                assets.c.source == source, assets.c.media_id == media_id)).first()
        return (str(row.media_type), bytes(row.body)) if row else None
