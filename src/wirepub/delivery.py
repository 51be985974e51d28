"""Delivering what the ledger holds: due deliveries are put at their destinations concurrently, a limit
per partner so that a slow or hanging partner never holds the others up, and every outcome is written
back to the store: delivered, failed with the time of its next attempt (exponential backoff with jitter,
or the partner's Retry-After), or dead after the last attempt or past the maximum age.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa

from wirepub.clock import Clock
from wirepub.config import Config
from wirepub.errors import WirepubError
from wirepub.logs import facts
from wirepub.partners import DeliveryPolicy, Partner
from wirepub.progress import Progress, Quiet, Stage
from wirepub.queues import Loop, PartnerQueue, release_orphaned_leases
from wirepub.store import DueDelivery, Outcome, Store
from wirepub.transports import DeliveryError, Destination, Put
from wirepub.transports.pool import TransportPool
from wirepub.urls import shown
from wirepub.vocabulary import DeliveryKind, DeliveryState, NoticeKind
from wirepub.websub import hub_client, publish

log = logging.getLogger("wirepub.delivery")

BOOKKEEPING_BATCH = 200   # outcomes per ledger transaction
FLUSH_SECONDS = 0.2       # ... or as often as this, whichever comes first
PREFETCH = 8              # a partner's queue is refilled to this many times its partner_concurrency
WAITED_FOR = (DeliveryKind.MEDIA, DeliveryKind.FEED)   # deliveries that others wait for in the ledger


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
    """Takes due deliveries from the store (leased to this node, so that several nodes share them) and
    attempts them on a thread pool, each partner up to its own limit."""

    def __init__(self, config: Config, store: Store, clock: Clock, *, node: str, lease: float = 60.0,
                 rng: random.Random | None = None, pool: TransportPool | None = None,
                 observe: Callable[[DueDelivery, Outcome], None] | None = None) -> None:
        self.config = config
        self.store = store
        self.pool = pool or TransportPool(config.base_dir)
        self.clock = clock
        self.node = node
        self.lease = lease
        self.rng = rng or random.Random()
        self.observe = observe
        self.partners = {p.name: p for p in config.partners}
        self.misconfigured: dict[str, str] = {}   # partner -> why it cannot be used as configured
        self._hubs: httpx.Client | None = None    # WebSub pings: one reused client (PERFORMANCE-NOTES)
        self._hubs_lock = threading.Lock()

    def locations(self) -> list[str]:
        """Where the documents land, said for people: one per destination of every usable partner."""
        self.check_partners()
        return [self.pool.get(d).location for p in self.config.partners if p.name not in self.misconfigured
                for d in p.destinations]

    def check_partners(self, *, only_bad: bool = False) -> None:
        """Open every destination's transport. A partner whose transport cannot be opened (a secret not set, a
        bad option, a missing CA file) is misconfigured: its deliveries wait in the ledger, the trouble is
        logged once and told to every status page (a notice), and every other partner goes on. Looked at
        again at every poll, so a fixed one resumes."""
        for partner in self.config.partners:
            if only_bad and partner.name not in self.misconfigured:
                continue
            try:
                for destination in partner.destinations:
                    self.pool.get(destination)
            except WirepubError as exc:
                self._misconfigured(partner.name, str(exc))
            else:
                self._usable(partner.name)

    def _misconfigured(self, partner: str, why: str) -> None:
        if self.misconfigured.get(partner) == why:
            return
        self.misconfigured[partner] = why
        log.error("partner misconfigured; its deliveries wait", extra=facts(partner=partner, error=why))
        self._notice(lambda: self.store.notices.raise_(NoticeKind.MISCONFIGURED, partner, self.node, why,
                                                      self.clock.now()))

    def _usable(self, partner: str) -> None:
        if self.misconfigured.pop(partner, None) is not None:
            log.info("partner usable again", extra=facts(partner=partner))
            self._notice(lambda: self.store.notices.clear(NoticeKind.MISCONFIGURED, partner, self.node))

    def _notice(self, write: Callable[[], None]) -> None:
        try:
            write()
        except sa.exc.SQLAlchemyError as exc:
            log.warning("could not record a notice", extra=facts(error=_brief(exc)))

    def close(self) -> None:
        self.pool.close()
        if self._hubs is not None:
            self._hubs.close()

    def _hub_client(self) -> httpx.Client:
        with self._hubs_lock:
            if self._hubs is None:
                self._hubs = hub_client()
            return self._hubs

    def run(self, bodies: dict[str, bytes] | None = None, *, progress: Progress | None = None) -> DeliveryReport:
        """Attempt every delivery due now, once (wirepub push); retries scheduled for later are left for later."""
        stages = progress or Quiet()
        stages.start(Stage.DELIVER, self.store.ledger.count_due(self.clock.now()))
        try:
            return self.serve(bodies=bodies, until_idle=True, progress=stages)
        finally:
            stages.finish(Stage.DELIVER)

    def serve(self, *, stop: threading.Event | None = None, wake: threading.Event | None = None,
              poll: float = 2.0, grace: float = 30.0, bodies: dict[str, bytes] | None = None,
              until_idle: bool = False, progress: Progress | None = None) -> DeliveryReport:
        """The delivery loop. until_idle: return once nothing due at the start is left (push). Otherwise run
        until stop is set (the daemon), looking for new work when woken and every poll seconds; on stop, give
        back what was claimed and not started, and wait up to grace seconds for what is in flight."""
        report = DeliveryReport()
        self._release_orphans(until_idle)
        self.check_partners()
        loop = Loop({name: PartnerQueue(p.delivery.partner_concurrency) for name, p in self.partners.items()},
                     bodies if bodies is not None else {}, due_by=self.clock.now() if until_idle else None,
                     keep=not until_idle)
        concurrency = self.config.delivery.concurrency
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="wirepub-deliver")
        try:
            while True:
                if stop is not None and stop.is_set() and loop.deadline is None:
                    loop.deadline = time.monotonic() + grace
                    self._give_back([d for q in loop.queues.values() for d in q.drain()])
                if loop.deadline is None:
                    self._refill(loop, wake, poll)
                    self._dispatch(loop.queues, loop.futures, pool, loop.bodies, concurrency)
                if not loop.futures:
                    loop.outcomes = self._flush(loop.outcomes, keep=loop.keep)
                    idle = all(q.exhausted and not q.waiting() for q in loop.queues.values())
                    if until_idle and idle and loop.deadline is None and loop.progressed:
                        # What waited for these (items for their pictures, pings for their feed) may go now.
                        loop.progressed = False
                        for q in loop.queues.values():
                            q.exhausted = False
                        continue
                    if loop.deadline is not None or (until_idle and idle):
                        break
                    if idle:
                        (wake or stop or threading.Event()).wait(poll)
                    continue
                if loop.deadline is not None and time.monotonic() >= loop.deadline:
                    log.warning("shutting down with deliveries in flight; their leases expire and they are retried",
                                extra=facts(count=len(loop.futures)))
                    break
                self._reap(loop, report, progress or Quiet())
                self._bookkeep(loop)
        finally:
            pool.shutdown(wait=loop.deadline is None, cancel_futures=True)
            self._give_back([d for q in loop.queues.values() for d in q.drain()])
            self._flush(loop.outcomes, keep=False)
        return report

    def _release_orphans(self, strict: bool) -> None:
        try:
            release_orphaned_leases(self.store, self.node, self.clock.now())
        except sa.exc.SQLAlchemyError as exc:
            if strict:
                raise
            log.warning("could not look for orphaned leases", extra=facts(error=_brief(exc)))

    def _refill(self, loop: Loop, wake: threading.Event | None, poll: float) -> None:
        """Claim more work where a partner's queue runs low; after a wake or a poll, partners whose last
        claim came back short are asked again."""
        if (wake is not None and wake.is_set()) or time.monotonic() - loop.last_claim >= poll:
            if wake is not None:
                wake.clear()
            for q in loop.queues.values():
                q.exhausted = False
            loop.last_claim = time.monotonic()
            if self.misconfigured:
                self.check_partners(only_bad=True)
        try:
            self._claim(loop.queues, loop.due_by)
        except sa.exc.SQLAlchemyError as exc:
            if not loop.keep:
                raise
            log.warning("store unavailable; looking again later", extra=facts(seconds=poll, error=_brief(exc)))
            for q in loop.queues.values():
                q.exhausted = True  # until the next poll

    def _reap(self, loop: Loop, report: DeliveryReport, progress: Progress) -> None:
        """Wait a little for attempts in flight, and take the outcomes of those that ended."""
        done, _ = wait(loop.futures, timeout=0.25, return_when=FIRST_COMPLETED)
        for future in done:
            d = loop.futures.pop(future)
            q = loop.queues[d.partner]
            q.in_flight -= 1
            q.items_in_flight -= d.kind != DeliveryKind.FEED
            outcome = future.result()
            loop.outcomes.append(outcome)
            loop.progressed |= outcome.state == DeliveryState.DELIVERED and d.kind in WAITED_FOR
            progress.advance(Stage.DELIVER)
            self._tell(d, outcome, report)
            if self.observe is not None:
                self.observe(d, outcome)

    def _bookkeep(self, loop: Loop) -> None:
        """Outcomes to the ledger in batches; leases on what is still held renewed in time."""
        now = time.monotonic()
        if len(loop.outcomes) >= BOOKKEEPING_BATCH or (loop.outcomes and now - loop.last_flush >= FLUSH_SECONDS):
            loop.outcomes = self._flush(loop.outcomes, keep=loop.keep)
            loop.last_flush = now
        if now - loop.last_renew >= self.lease / 3:
            self._renew([d.id for q in loop.queues.values() for d in (*q.items, *q.feeds)] +
                        [d.id for d in loop.futures.values()])
            loop.last_renew = now

    def _dispatch(self, queues: dict[str, PartnerQueue], futures: dict[Future[Outcome], DueDelivery],
                  pool: ThreadPoolExecutor, bodies: dict[str, bytes], concurrency: int) -> None:
        """Start what may start: round robin over partners, each up to its own limit; and a partner that
        already has work in flight never takes a worker that a partner with none would need, so hanging
        partners together cannot hold every worker while others wait."""
        progress = True
        while progress and len(futures) < concurrency:
            progress = False
            starving = sum(1 for q in queues.values() if q.in_flight == 0 and q.ready())
            for q in queues.values():
                free = concurrency - len(futures)
                if free <= 0 or (q.in_flight and free <= starving):
                    continue
                d = q.next()
                if d is not None:
                    starving -= q.in_flight == 0
                    futures[pool.submit(self._attempt, d, bodies)] = d
                    q.in_flight += 1
                    q.items_in_flight += d.kind != DeliveryKind.FEED
                    progress = True

    def _claim(self, queues: dict[str, PartnerQueue], due_by: datetime | None) -> None:
        """Refill a partner's queue when it runs low, in one claim of several rounds' worth: one ledger
        transaction per few dozen deliveries, not per delivery. Leases on what waits are renewed."""
        for name, q in queues.items():
            if q.exhausted or q.waiting() >= q.limit or name in self.misconfigured:
                continue
            want = PREFETCH * q.limit - q.waiting() - q.in_flight
            if want <= 0:
                continue
            claimed = self.store.ledger.claim(self.node, self.clock.now(), lease_seconds=self.lease, partner=name,
                                       limit=want, due_by=due_by)
            q.add(claimed)
            q.exhausted = len(claimed) < want

    def _flush(self, outcomes: list[Outcome], *, keep: bool) -> list[Outcome]:
        """Write outcomes to the ledger. If the store is away, keep them (keep=True) to write later; the
        deliveries stay leased meanwhile, and if this node dies they are simply attempted again."""
        if not outcomes:
            return outcomes
        try:
            self.store.ledger.finish(outcomes, self.node)
        except sa.exc.SQLAlchemyError as exc:
            if not keep:
                raise
            log.warning("store unavailable, outcomes kept to record later",
                        extra=facts(count=len(outcomes), error=_brief(exc)))
            return outcomes
        return []

    def _renew(self, ids: list[int]) -> None:
        try:
            self.store.ledger.renew(self.node, ids, self.clock.now(), lease_seconds=self.lease)
        except sa.exc.SQLAlchemyError as exc:
            log.warning("could not renew leases", extra=facts(error=_brief(exc)))

    def _give_back(self, held: list[DueDelivery]) -> None:
        if not held:
            return
        try:
            self.store.ledger.release_leases(self.node, [d.id for d in held])
        except sa.exc.SQLAlchemyError as exc:
            log.warning("could not give back leases (they expire by themselves)", extra=facts(error=_brief(exc)))

    def _attempt(self, d: DueDelivery, bodies: dict[str, bytes]) -> Outcome:
        partner = self.partners[d.partner]
        try:
            destination = next((x for x in partner.destinations if shown(x.url) == d.destination),
                               Destination(d.destination))
            if d.kind in (DeliveryKind.FEED, DeliveryKind.PING) and not self.store.ledger.is_open(d.id):
                return Outcome(d.id, DeliveryState.SUPERSEDED, self.clock.now())  # a newer copy came meanwhile
            if d.kind == DeliveryKind.PING:
                publish(self._hub_client(), hub=d.destination, topic=d.path)
                return Outcome(d.id, DeliveryState.DELIVERED, self.clock.now())
            body = bodies.get(d.sha256)
            if body is None:
                body = self.store.ledger.document_body(d.sha256)
            transport = self.pool.get(destination)
            if d.kind.put_kind is None:
                transport.delete(d.path)
                return Outcome(d.id, DeliveryState.DELIVERED, self.clock.now())
            transport.put(Put(
                d.path, body, d.media_type, kind=d.kind.put_kind, format=d.format,
                story_id=d.story_id, version=d.version,
                idempotency_key=idempotency_key(d.partner, d.destination, d.path, d.sha256)))
        except DeliveryError as exc:
            return self._failure(d, partner, str(exc), exc.retryable, exc.retry_after)
        except Exception as exc:  # a transport bug must not take the run down; it is retried and logged
            log.exception("delivery crashed", extra=_facts(d))
            return self._failure(d, partner, f"{type(exc).__name__}: {exc}", True, None)
        return Outcome(d.id, DeliveryState.DELIVERED, self.clock.now())

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
            return Outcome(d.id, DeliveryState.DEAD, now, error=f"{error} ({why})")
        delay = max(backoff(attempts, policy, self.rng), retry_after or 0.0)
        return Outcome(d.id, DeliveryState.FAILED, now, next_attempt_at=now + timedelta(seconds=delay), error=error)

    @staticmethod
    def _tell(d: DueDelivery, outcome: Outcome, report: DeliveryReport) -> None:
        what = f"partner {d.partner}, {d.format} {d.path} -> {d.destination}"
        if outcome.state == DeliveryState.DELIVERED:
            report.delivered += 1
            log.info("delivered", extra=_facts(d))
        elif outcome.state == DeliveryState.SUPERSEDED:
            log.debug("not sent: a newer copy of this feed came meanwhile", extra=_facts(d))
        elif outcome.state == DeliveryState.FAILED:
            assert outcome.next_attempt_at is not None
            report.failed.append(f"{what}: {outcome.error}; next attempt {_at(outcome.next_attempt_at)}")
            log.warning("delivery failed", extra=_facts(d, next_attempt=_at(outcome.next_attempt_at),
                                                       error=outcome.error))
        else:
            report.dead.append(f"{what}: {outcome.error}")
            log.error("delivery dead", extra=_facts(d, error=outcome.error))


def _facts(d: DueDelivery, **more: object) -> dict[str, object]:
    """What every delivery log line carries; a dash where one does not apply (a feed has no story)."""
    return facts(partner=d.partner, format=d.format, path=d.path, story=d.story_id or "-",
                 version=d.version or "-", destination=d.destination, **more)


def _brief(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300]


def _at(t: datetime) -> str:
    return t.isoformat(timespec="seconds")
