"""What a source has read and recorded, by fingerprint: an unchanged file is never read again, by this
process or the next, so a push into a folder of 100,000 published files reads only what is new."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wirepub.store.schema import source_items

s = source_items.c


class SourceItems:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def fingerprints(self, source: str) -> set[int]:
        """Every fingerprint recorded for this source (a set of integers: a few bytes each)."""
        with self.engine.connect() as c:
            return set(c.execute(sa.select(s.fingerprint).where(s.source == source)).scalars())

    def known(self, source: str, fingerprints: Sequence[int]) -> set[int]:
        """Which of these fingerprints are recorded for this source."""
        found: set[int] = set()
        wanted = sorted(set(fingerprints))
        with self.engine.connect() as c:
            for start in range(0, len(wanted), 500):
                found |= set(c.execute(sa.select(s.fingerprint).where(
                    s.source == source, s.fingerprint.in_(wanted[start:start + 500]))).scalars())
        return found

    def remember(self, source: str, items: Sequence[tuple[str, int]], now: datetime) -> None:
        """(ref, fingerprint) pairs, read and recorded: a ref seen again with another fingerprint is replaced."""
        if not items:
            return
        latest = dict(items)
        with self.engine.begin() as c:
            refs = sorted(latest)
            for start in range(0, len(refs), 500):
                c.execute(source_items.delete().where(s.source == source, s.ref.in_(refs[start:start + 500])))
            c.execute(source_items.insert(), [{"source": source, "ref": ref, "fingerprint": fp, "seen_at": now}
                                              for ref, fp in latest.items()])
