"""What goes into the store and comes out of it, as plain immutable values (no SQL, no rules)."""

from __future__ import annotations

import json
from dataclasses import dataclass
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

    @classmethod
    def of(cls, row: sa.Row[Any]) -> StoredVersion:
        return cls(story_id=row.story_id, version=row.version, status=row.status, content_hash=row.content_hash,
                   document=json.loads(row.document), origin=row.origin, embargo=row.embargo,
                   released_at=row.released_at)


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
