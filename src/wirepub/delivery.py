"""Delivering what the ledger holds: due deliveries are put at their destinations concurrently, a limit
per partner so that a slow or hanging partner never holds the others up, and every outcome is written
back to the store: delivered, failed with the time of its next attempt (exponential backoff with jitter,
or the partner's Retry-After), or dead after the last attempt or past the maximum age.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from wirepub.clock import Clock
from wirepub.config import Config, DeliveryPolicy, Partner
from wirepub.store import DueDelivery, Outcome, Store
from wirepub.transports import DeliveryError, Destination, Put, Transport

log = logging.getLogger("wirepub.delivery")

BOOKKEEPING_BATCH = 200


def idempotency_key(partner: str, destination: str, path: str, sha256: str) -> str:
    """The same for every attempt of one delivery, different for any other document or place."""
    return hashlib.sha256(f"{partner}\n{destination}\n{path}\n{sha256}".encode()).hexdigest()[:40]


def backoff(attempt: int, policy: DeliveryPolicy, rng: random.Random) -> float:
    """Seconds to wait after the n-th failed attempt: doubling from base_delay, capped, with jitter
    (half fixed, half random) so that partners coming back are not hit by every node at once."""
    ceiling = min(policy.max_delay, policy.base_delay * 2.0 ** max(attempt - 1, 0))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: list[str] = field(default_factory=list)   # will be retried
    dead: list[str] = field(default_factory=list)     # given up on


class Deliverer:
    def __init__(self, config: Config, store: Store, transport: Callable[[Destination], Transport], clock: Clock,
                 *, rng: random.Random | None = None) -> None:
        self.config = config
        self.store = store
        self.transport = transport
        self.clock = clock
        self.rng = rng or random.Random()
        self.partners = {p.name: p for p in config.partners}

    def run(self, bodies: dict[str, bytes] | None = None) -> DeliveryReport:
        """Attempt every due delivery once: item documents first, then feeds (a feed follows its items)."""
        report = DeliveryReport()
        due = self.store.due_deliveries(self.clock.now())
        for wave in ("item", "feed"):
            self._wave([d for d in due if d.kind == wave], bodies or {}, report)
        return report

    def _wave(self, due: list[DueDelivery], bodies: dict[str, bytes], report: DeliveryReport) -> None:
        queues: dict[str, deque[DueDelivery]] = {}
        for d in due:
            if d.partner not in self.partners:
                log.warning("delivery skipped: partner=%s is no longer configured path=%s", d.partner, d.path)
                continue
            queues.setdefault(d.partner, deque()).append(d)
        if not queues:
            return
        in_flight: Counter[str] = Counter()
        futures: dict[Future[Outcome], DueDelivery] = {}
        outcomes: list[Outcome] = []
        with ThreadPoolExecutor(max_workers=self.config.delivery.concurrency,
                                thread_name_prefix="wirepub-deliver") as pool:

            def fill() -> None:
                # Round robin over partners, each up to its own limit: one partner cannot take every worker.
                progress = True
                while progress and len(futures) < self.config.delivery.concurrency:
                    progress = False
                    for name, queue in queues.items():
                        limit = self.partners[name].delivery.partner_concurrency
                        if queue and in_flight[name] < limit and len(futures) < self.config.delivery.concurrency:
                            d = queue.popleft()
                            futures[pool.submit(self._attempt, d, bodies)] = d
                            in_flight[name] += 1
                            progress = True

            fill()
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    d = futures.pop(future)
                    in_flight[d.partner] -= 1
                    outcome = future.result()
                    outcomes.append(outcome)
                    self._tell(d, outcome, report)
                if len(outcomes) >= BOOKKEEPING_BATCH:
                    self.store.finish(outcomes)
                    outcomes = []
                fill()
        self.store.finish(outcomes)

    def _attempt(self, d: DueDelivery, bodies: dict[str, bytes]) -> Outcome:
        partner = self.partners[d.partner]
        try:
            destination = next((x for x in partner.destinations if x.url == d.destination), Destination(d.destination))
            body = bodies.get(d.sha256)
            if body is None:
                body = self.store.document_body(d.sha256)
            self.transport(destination).put(Put(
                d.path, body, d.media_type, kind="item" if d.kind == "item" else "feed", format=d.format,
                story_id=d.story_id, version=d.version,
                idempotency_key=idempotency_key(d.partner, d.destination, d.path, d.sha256)))
        except DeliveryError as exc:
            return self._failure(d, partner, str(exc), exc.retryable, exc.retry_after)
        except Exception as exc:  # a transport bug must not take the run down; it is retried and logged
            log.exception("delivery crashed partner=%s path=%s destination=%s", d.partner, d.path, d.destination)
            return self._failure(d, partner, f"{type(exc).__name__}: {exc}", True, None)
        return Outcome(d.id, "delivered", self.clock.now())

    def _failure(self, d: DueDelivery, partner: Partner, error: str, retryable: bool,
                 retry_after: float | None) -> Outcome:
        now = self.clock.now()
        attempts = d.attempts + 1
        policy = partner.delivery
        too_old = d.created_at is not None and (now - d.created_at).total_seconds() >= policy.max_age
        if not retryable or attempts >= policy.max_attempts or too_old:
            why = ("not retryable" if not retryable else
                   f"gave up after {attempts} attempts" if attempts >= policy.max_attempts else
                   f"older than max_age {policy.max_age:.0f}s")
            return Outcome(d.id, "dead", now, error=f"{error} ({why})")
        delay = max(backoff(attempts, policy, self.rng), retry_after or 0.0)
        return Outcome(d.id, "failed", now, next_attempt_at=now + timedelta(seconds=delay), error=error)

    @staticmethod
    def _tell(d: DueDelivery, outcome: Outcome, report: DeliveryReport) -> None:
        what = f"partner {d.partner}, {d.format} {d.path} -> {d.destination}"
        if outcome.state == "delivered":
            report.delivered += 1
            log.info("delivered partner=%s format=%s path=%s story=%s version=%s destination=%s",
                     d.partner, d.format, d.path, d.story_id or "-", d.version or "-", d.destination)
        elif outcome.state == "failed":
            assert outcome.next_attempt_at is not None
            report.failed.append(f"{what}: {outcome.error}; next attempt {_at(outcome.next_attempt_at)}")
            log.warning("delivery failed partner=%s format=%s path=%s story=%s version=%s destination=%s "
                        "next_attempt=%s error=%s", d.partner, d.format, d.path, d.story_id or "-",
                        d.version or "-", d.destination, _at(outcome.next_attempt_at), outcome.error)
        else:
            report.dead.append(f"{what}: {outcome.error}")
            log.error("delivery dead partner=%s format=%s path=%s story=%s version=%s destination=%s error=%s",
                      d.partner, d.format, d.path, d.story_id or "-", d.version or "-", d.destination,
                      outcome.error)


def _at(t: datetime) -> str:
    return t.isoformat(timespec="seconds")
