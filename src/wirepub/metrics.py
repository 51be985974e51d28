"""/metrics in the Prometheus text format: the ledger's counts read from the store at each scrape (so every
node reports the same truth), and what this node saw itself (attempts, approval-to-delivery latency).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from wirepub.clock import Clock
from wirepub.logs import facts
from wirepub.store import DueDelivery, Outcome, Store
from wirepub.vocabulary import DeliveryKind, DeliveryState, NoticeKind

log = logging.getLogger("wirepub.metrics")

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


class Metrics:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.clock = clock
        self.registry = CollectorRegistry(auto_describe=True)
        self.attempts = Counter("wirepub_delivery_attempts", "Delivery attempts made by this node, by outcome.",
                                ["partner", "outcome"], registry=self.registry)
        self.latency = Histogram(
            "wirepub_delivery_latency_seconds",
            "From a story version's release (its approval, or its embargo time) to its item document's delivery.",
            ["partner"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.registry.register(_LedgerCollector(store, clock))

    def observe(self, d: DueDelivery, outcome: Outcome) -> None:
        self.attempts.labels(d.partner, outcome.state).inc()
        if outcome.state == DeliveryState.DELIVERED and d.kind == DeliveryKind.ITEM and d.created_at is not None:
            self.latency.labels(d.partner).observe(max((outcome.at - d.created_at).total_seconds(), 0.0))

    def render(self) -> str:
        return generate_latest(self.registry).decode("utf-8")


class _LedgerCollector(Collector):
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("wirepub_store_up", "1 if the store answered this scrape.")
        try:
            now = self.clock.now()
            rows = self.store.reads.status(now)
            held = self.store.reads.held_count(now)
            failed = len(self.store.reads.failed_versions())
            misconfigured = {n.subject for n in self.store.notices.all() if n.kind == NoticeKind.MISCONFIGURED}
            collect_failing = {n.node for n in self.store.notices.all() if n.kind == NoticeKind.COLLECT_FAILING}
        except sa.exc.SQLAlchemyError as exc:
            log.warning("metrics: store unavailable", extra=facts(error=str(exc).splitlines()[0]))
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        by_state = GaugeMetricFamily("wirepub_deliveries", "Deliveries in the ledger by partner and state.",
                                     labels=["partner", "state"])
        depth = GaugeMetricFamily("wirepub_queue_depth", "Deliveries waiting (pending or failed) per partner.",
                                  labels=["partner"])
        oldest = GaugeMetricFamily("wirepub_oldest_pending_seconds",
                                   "Age of the oldest undelivered document per partner (0 if none).",
                                   labels=["partner"])
        for r in rows:
            for state in DeliveryState:
                by_state.add_metric([r["partner"], state], r[state])
            depth.add_metric([r["partner"]], r["pending"] + r["failed"])
            oldest.add_metric([r["partner"]], r["oldest_pending_seconds"] or 0.0)
        yield by_state
        yield depth
        yield oldest
        yield GaugeMetricFamily("wirepub_held_versions", "Story versions held under embargo.", value=held)
        yield GaugeMetricFamily("wirepub_failed_versions", "Story versions held back because they cannot be "
                                "rendered (fix or `wirepub drop` them).", value=failed)
        bad = GaugeMetricFamily("wirepub_partner_misconfigured", "1 for a partner that cannot be used as "
                                "configured (its deliveries wait).", labels=["partner"])
        for name in sorted(misconfigured | {r["partner"] for r in rows}):
            bad.add_metric([name], 1 if name in misconfigured else 0)
        yield bad
        yield GaugeMetricFamily("wirepub_collect_failing_nodes", "Nodes whose collects keep failing.",
                                value=len(collect_failing))
