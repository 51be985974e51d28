"""What one delivery loop holds (delivery.Deliverer): a queue per partner, the loop's own state, and the
leases a dead process left behind."""

from __future__ import annotations

import logging
import socket
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

from wirepub.config import process_start
from wirepub.logs import facts
from wirepub.store import DueDelivery, Outcome, Store
from wirepub.vocabulary import DeliveryKind

log = logging.getLogger("wirepub.delivery")


@dataclass
class PartnerQueue:
    """What one partner has claimed and not yet attempted, and what it has in flight. Items (and deletions)
    go before feeds, and a feed waits until none of the partner's items is in flight: a feed follows the
    items it lists."""

    limit: int
    items: deque[DueDelivery] = field(default_factory=deque)
    feeds: deque[DueDelivery] = field(default_factory=deque)
    items_in_flight: int = 0
    in_flight: int = 0
    exhausted: bool = False   # its last claim came back short: nothing more is due until woken or polled

    def add(self, claimed: list[DueDelivery]) -> None:
        for d in claimed:
            (self.feeds if d.kind in (DeliveryKind.FEED, DeliveryKind.PING) else self.items).append(d)

    def next(self) -> DueDelivery | None:
        if self.in_flight >= self.limit:
            return None
        if self.items:
            return self.items.popleft()
        if self.feeds and self.items_in_flight == 0:
            return self.feeds.popleft()
        return None

    def ready(self) -> bool:
        """Has something it could start now."""
        return bool(self.items or (self.feeds and self.items_in_flight == 0))

    def waiting(self) -> int:
        return len(self.items) + len(self.feeds)

    def drain(self) -> list[DueDelivery]:
        held = [*self.items, *self.feeds]
        self.items.clear()
        self.feeds.clear()
        return held


@dataclass
class Loop:
    """The state of one run of the delivery loop."""

    queues: dict[str, PartnerQueue]
    bodies: dict[str, bytes]
    due_by: datetime | None          # push: only what was due when it started
    keep: bool                       # the daemon keeps outcomes while the store is away; push raises
    futures: dict[Future[Outcome], DueDelivery] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    deadline: float | None = None    # set at stop: when to give up waiting for what is in flight
    last_claim: float = field(default_factory=time.monotonic)
    last_flush: float = field(default_factory=time.monotonic)
    last_renew: float = field(default_factory=time.monotonic)
    progressed: bool = False         # a picture or a feed was delivered since the last claim: look again


def release_orphaned_leases(store: Store, node: str, now: datetime) -> list[str]:
    """Give back leases whose owner is certainly gone: this very node name (a previous run of it), or a
    process on this host that no longer runs (a push or daemon killed with SIGKILL). Leases of other hosts
    run out by themselves after daemon.lease seconds. What such a process said was wrong (its notices) goes
    with it. Returns the owners released."""
    host = socket.gethostname()
    gone = []
    for owner in sorted(set(store.ledger.lease_owners(now)) | {n.node for n in store.notices.all()}):
        parts = owner.split(":")
        if owner == node:
            gone.append(owner)
        elif len(parts) == 3 and parts[0] == host and parts[1].isdigit() and parts[2] != "?":
            started = process_start(int(parts[1]))
            if started != parts[2]:
                gone.append(owner)
    for owner in gone:
        store.ledger.release_leases(owner)
        store.notices.clear_node(owner)
        log.info("leases of a process that is gone given back", extra=facts(owner=owner))
    return gone
