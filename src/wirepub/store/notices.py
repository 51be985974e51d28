"""Notices: what a node says is wrong, for every node's status page and metrics (the store is the only
thing nodes share). Raised while the trouble lasts, cleared when it is over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wirepub.store.schema import notices
from wirepub.vocabulary import NoticeKind

n = notices.c


@dataclass(frozen=True, slots=True)
class Notice:
    kind: NoticeKind
    subject: str
    node: str
    message: str
    first_at: datetime
    last_at: datetime


class Notices:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def raise_(self, kind: NoticeKind, subject: str, node: str, message: str, now: datetime) -> None:
        key = (n.kind == kind, n.subject == subject, n.node == node)
        with self.engine.begin() as c:
            if c.execute(notices.update().where(*key).values(message=message, last_at=now)).rowcount == 0:
                c.execute(notices.insert().values(kind=kind, subject=subject, node=node, message=message,
                                                  first_at=now, last_at=now))

    def clear(self, kind: NoticeKind, subject: str, node: str) -> None:
        with self.engine.begin() as c:
            c.execute(notices.delete().where(n.kind == kind, n.subject == subject, n.node == node))

    def clear_node(self, node: str) -> None:
        """A node starting afresh, or stopping: what it said no longer holds."""
        with self.engine.begin() as c:
            c.execute(notices.delete().where(n.node == node))

    def all(self) -> list[Notice]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(notices).order_by(n.kind, n.subject, n.node)).all()
        return [Notice(NoticeKind(r.kind), r.subject, r.node, r.message, r.first_at, r.last_at) for r in rows]
