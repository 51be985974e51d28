"""What goes into the store and comes out of it, as plain immutable values (no SQL, no rules)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from wirepub.vocabulary import DeliveryKind, DeliveryState


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
    dropped: bool = False
    version_created: datetime | None = None

    @classmethod
    def of(cls, row: sa.Row[Any]) -> StoredVersion:
        return cls(story_id=row.story_id, version=row.version, status=row.status, content_hash=row.content_hash,
                   document=json.loads(row.document), origin=row.origin, embargo=row.embargo,
                   released_at=row.released_at, dropped=row.dropped_at is not None,
                   version_created=row.version_created)


@dataclass
class Known:
    """What the store holds of a batch's stories (Versions.known): every recorded version, and the recorded
    ids that are the same in lower case. Kept up to date by intake while it records the batch."""

    versions: dict[str, list[StoredVersion]] = field(default_factory=dict)   # by id, lowest version first
    ids_by_lower: dict[str, set[str]] = field(default_factory=dict)

    def add(self, v: StoredVersion) -> None:
        self.versions.setdefault(v.story_id, []).append(v)
        self.versions[v.story_id].sort(key=lambda x: x.version)
        self.ids_by_lower.setdefault(v.story_id.lower(), set()).add(v.story_id)

    def latest(self, story_id: str, *, live: bool = False) -> StoredVersion | None:
        """The highest version recorded (live: leaving out dropped ones)."""
        found = [v for v in self.versions.get(story_id, ()) if not (live and v.dropped)]
        return found[-1] if found else None

    def has_content(self, story_id: str, content_hash: str) -> bool:
        return any(v.content_hash == content_hash for v in self.versions.get(story_id, ()))

    def content_of(self, story_id: str, version: int) -> str | None:
        return next((v.content_hash for v in self.versions.get(story_id, ()) if v.version == version), None)

    def case_twin(self, story_id: str) -> str | None:
        return next(iter(sorted(self.ids_by_lower.get(story_id.lower(), set()) - {story_id})), None)

    def origins(self, story_id: str) -> set[str]:
        return {v.origin for v in self.versions.get(story_id, ())}


@dataclass(frozen=True, slots=True)
class NewVersion:
    story_id: str
    version: int
    status: str
    content_hash: str
    document: dict[str, Any]
    origin: str
    version_created: datetime
    embargo: datetime | None


@dataclass(frozen=True, slots=True)
class NewDelivery:
    partner: str
    destination: str
    path: str
    format: str
    kind: DeliveryKind
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
    kind: DeliveryKind
    story_id: str | None
    version: int | None
    sha256: str
    attempts: int
    created_at: datetime | None
    media_type: str


@dataclass(frozen=True, slots=True)
class Outcome:
    id: int
    state: DeliveryState              # delivered | failed | dead
    at: datetime
    next_attempt_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class FeedCopy:
    """The newest copy of a feed in the ledger for one partner, destination and path."""

    id: int
    sha256: str
