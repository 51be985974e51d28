"""Read models for the desk: per-partner counts, recent stories, where each version went. Reading only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wirepub.store.schema import deliveries, story_versions
from wirepub.vocabulary import OPEN_STATES, DeliveryState

d = deliveries.c
sv = story_versions.c
TROUBLE = (DeliveryState.FAILED, DeliveryState.DEAD)
VERSION_FIELDS = (sv.story_id, sv.version, sv.status, sv.headline, sv.seen_at, sv.released_at, sv.embargo,
                  sv.failed_at, sv.dropped_at)


class Reads:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def status(self, now: datetime) -> list[dict[str, Any]]:
        """Per partner: deliveries by state, the last error, the oldest open delivery's age in seconds."""
        with self.engine.connect() as c:
            counts = c.execute(sa.select(d.partner, d.state, sa.func.count(), sa.func.min(d.created_at))
                               .group_by(d.partner, d.state)).all()
            errors = c.execute(sa.select(d.partner, d.last_error, d.destination, d.path)
                               .where(d.last_error.is_not(None), d.state.in_(TROUBLE))
                               .order_by(d.id.desc())).all()
        out: dict[str, dict[str, Any]] = {}
        for partner, state, count, oldest in counts:
            entry = out.setdefault(partner, {"partner": partner, **{s.value: 0 for s in DeliveryState},
                                             "last_error": None, "oldest_pending_seconds": None})
            entry[state] = count
            if state in OPEN_STATES and oldest is not None:
                age = (now - oldest).total_seconds()
                prev = entry["oldest_pending_seconds"]
                entry["oldest_pending_seconds"] = age if prev is None else max(prev, age)
        for partner, error, destination, path in errors:
            if partner in out and out[partner]["last_error"] is None:
                out[partner]["last_error"] = f"{path} -> {destination}: {error}"
        return sorted(out.values(), key=lambda e: e["partner"])

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as c:
            versions = c.execute(sa.select(sa.func.count()).select_from(story_versions)).scalar_one()
            docs = c.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar_one()
        return {"story_versions": versions, "deliveries": docs}

    def held_count(self, now: datetime) -> int:
        with self.engine.connect() as c:
            return int(c.execute(sa.select(sa.func.count()).select_from(story_versions)
                                 .where(sv.released_at.is_(None), sv.embargo > now)).scalar_one())

    def failed_versions(self) -> list[dict[str, Any]]:
        """Versions held back because they could not be rendered (not dropped): story_id, version,
        headline, failure, failed_at."""
        query = (sa.select(sv.story_id, sv.version, sv.headline, sv.failure, sv.failed_at)
                 .where(sv.failed_at.is_not(None), sv.dropped_at.is_(None), sv.released_at.is_(None))
                 .order_by(sv.failed_at, sv.story_id, sv.version))
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(query).all()]

    def recent_versions(self, limit: int = 50, *, matching: str | None = None) -> list[dict[str, Any]]:
        """The latest version of each story, the most recently seen first (VERSION_FIELDS); with `matching`,
        only stories whose id or headline contains it, in any case."""
        latest = sa.select(sv.story_id, sa.func.max(sv.version).label("version")).group_by(sv.story_id)
        if matching:
            latest = latest.where(sa.or_(sv.story_id.icontains(matching, autoescape=True),
                                         sv.headline.icontains(matching, autoescape=True)))
        newest = latest.subquery()
        query = (
            sa.select(*VERSION_FIELDS)
            .select_from(story_versions.join(
                newest, sa.and_(sv.story_id == newest.c.story_id, sv.version == newest.c.version)))
            .order_by(sv.seen_at.desc(), sv.story_id).limit(limit)
        )
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(query).all()]

    def versions_of(self, story_id: str) -> list[dict[str, Any]]:
        """Every version of one story, oldest first (the same fields as recent_versions)."""
        query = sa.select(*VERSION_FIELDS).where(sv.story_id == story_id).order_by(sv.version)
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(query).all()]

    def story_history(self, story_id: str) -> list[dict[str, Any]]:
        """Where each version of one story went: one row per version, partner, destination and format, with
        its state, attempts, when it was queued and delivered, its next attempt and its last error."""
        query = (
            sa.select(d.version, d.partner, d.destination, d.path, d.format, d.kind, d.state, d.attempts,
                      d.created_at, d.delivered_at, d.next_attempt_at, d.last_error)
            .where(d.story_id == story_id)
            .order_by(d.version.desc(), d.partner, d.destination, d.format, d.id)
        )
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(query).all()]
