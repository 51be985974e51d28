"""Stories held back from one partner's format by a rule of its profile (the flow decides; this records)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wirepub.store.schema import held_back

h = held_back.c


@dataclass(frozen=True, slots=True)
class HeldRow:
    partner: str
    format: str
    story_id: str
    version: int
    rule: str
    message: str
    since: datetime | None = None


class Holds:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def replace(self, partner: str, format: str, rows: Sequence[HeldRow], now: datetime) -> list[HeldRow]:
        """Make these the stories held back from this partner's format; returns those that are new (or held
        by another rule, or another version, than before), for the log."""
        with self.engine.begin() as c:
            before = {r.story_id: r for r in c.execute(sa.select(held_back).where(h.partner == partner,
                                                                                 h.format == format)).all()}
            c.execute(held_back.delete().where(h.partner == partner, h.format == format))
            fresh = []
            values = []
            for r in rows:
                old = before.get(r.story_id)
                since = old.since if old is not None and old.rule == r.rule and old.version == r.version else None
                same = since is not None
                values.append({"partner": partner, "format": format, "story_id": r.story_id, "version": r.version,
                               "rule": r.rule, "message": r.message[:2000], "since": since or now})
                if not same:
                    fresh.append(r)
            if values:
                c.execute(held_back.insert(), values)
        return fresh

    def all(self, story_id: str | None = None) -> list[HeldRow]:
        query = sa.select(held_back).order_by(h.partner, h.format, h.story_id)
        if story_id is not None:
            query = query.where(h.story_id == story_id)
        with self.engine.connect() as c:
            return [HeldRow(r.partner, r.format, r.story_id, r.version, r.rule, r.message, r.since)
                    for r in c.execute(query).all()]
