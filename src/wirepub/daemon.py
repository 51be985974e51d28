"""`wirepub run`: the publisher's flow on a schedule, in one long-lived process.

Four threads, each with one job, and the store as the only meeting point with other nodes:

- the collector reads the hot folder, records and releases versions, rebuilds feeds (Publisher.collect).
  It runs when asked: by the scheduler's interval, by the watch on the hot folder (a new file is
  collected at once), and at the next embargo time (a date job, re-armed after every collect).
- the deliverer takes due deliveries from the store, leased to this node, and attempts them
  (Deliverer.serve): woken after each collect, at each partner's cron time, and every interval for
  retries and for work other nodes released.
- APScheduler 3 (a BackgroundScheduler with its default in-memory job store: its FAQ forbids sharing a
  job store between processes) holds the interval, the embargo date and the partners' cron schedules.
- the web server answers /healthz, /metrics and the status page.

SIGTERM or SIGINT: stop taking work, give back what was claimed and not started, wait up to
daemon.shutdown_grace seconds for deliveries in flight, exit 0. Whatever was left is in the store, and the
next start (of this node or any other) resumes it. A bad story, a bad partner or a store that is away for a
while never ends the process: each is logged, and the next round tries again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from wirepub.clock import Clock, SystemClock
from wirepub.config import Config
from wirepub.delivery import Deliverer
from wirepub.errors import StoreError, WirepubError
from wirepub.logs import facts
from wirepub.metrics import Metrics
from wirepub.publisher import Publisher
from wirepub.reports import PushReport
from wirepub.sources.api import ApiSource
from wirepub.sources.watch import FolderWatch
from wirepub.store import Store, shown_url
from wirepub.vocabulary import NoticeKind, SourceKind
from wirepub.web import WebServer
from wirepub.web.ingest import Ingest

log = logging.getLogger("wirepub.daemon")

COLLECT_FAILURES_UNHEALTHY = 3   # collects failing in a row before /healthz says 503
STORE_RETRY_MAX = 30.0   # longest wait between two attempts to reach a store that is away
TOKEN_ENV = "WIREPUB_STATUS_TOKEN"
COLLECT_GAP = 0.02   # seconds at least between the starts of two collects
BUSY_RETRY = 0.1   # seconds before looking again when another node was reading the sources


class Daemon:
    def __init__(self, config: Config, *, clock: Clock | None = None) -> None:
        self.config = config
        self.settings = config.daemon
        self.clock = clock or SystemClock()
        self.stopping = threading.Event()
        self.collect_wanted = threading.Event()
        self.deliver_wake = threading.Event()
        self.watch: FolderWatch | None = None
        self._next_rescan = 0.0                 # when to look at the whole hot folder again (monotonic)
        self._threads: list[threading.Thread] = []
        self._last_collect: datetime | None = None
        self.store: Store | None = None
        self.publisher: Publisher | None = None
        self.deliverer: Deliverer | None = None
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.web: WebServer | None = None
        self._collect_failures = 0                # in a row
        self._collect_trouble: str | None = None
        self._pulls_lock = threading.Lock()
        self._due_pulls: set[str] = set()         # pull sources whose interval came round since the last collect
        self._source_failures: dict[str, int] = {}   # per source, in a row

    # --- life cycle ---------------------------------------------------------------------------------

    def run(self) -> int:
        """Run until SIGTERM or SIGINT. Returns the exit status (0 after a clean stop)."""
        self._install_signals()
        log.info("starting", extra=facts(node=self.settings.node, listen=self.settings.listen,
                                         interval=self.settings.interval, store=shown_url(self.config.store_url)))
        for warning in self.config.warnings:
            log.warning("unsafe destination", extra=facts(warning=warning))
        store = self._open_store()
        if store is None:
            return 0  # stopped before the store ever answered
        self.store = store
        self.publisher = Publisher(self.config, store, clock=self.clock)
        metrics = Metrics(store, self.clock)
        pushed = [s for s in self.publisher.sources if isinstance(s, ApiSource)]
        ingest = Ingest(pushed, store, accepted=self.collect_wanted.set) if pushed else None
        self.web = WebServer(self.settings.listen, store=store, clock=self.clock, health=self.health,
                             metrics=metrics.registry, token=os.environ.get(TOKEN_ENV) or None, ingest=ingest)
        self.web.start()
        deliverer = Deliverer(self.config, store, self.clock, node=self.settings.node, lease=self.settings.lease,
                              observe=metrics.observe)
        self.deliverer = deliverer
        self._start_thread("collector", self._collector)
        self._start_thread("deliverer", lambda: deliverer.serve(
            stop=self.stopping, wake=self.deliver_wake, poll=self.settings.interval,
            grace=self.settings.shutdown_grace))
        self._schedule()
        if self.settings.watch and any(s.kind == SourceKind.FOLDER for s in self.config.sources):
            self._watch()
        self._due_pulls = {s.name for s in self.publisher.sources if s.interval is not None}   # pull at once too
        self.collect_wanted.set()  # collect at once: whatever is due since the last run goes now
        host = self.settings.listen.rsplit(":", 1)[0]
        log.info("running", extra=facts(node=self.settings.node, health=f"http://{host}:{self.web.port}/healthz"))
        self.stopping.wait()
        return self._shutdown()

    def stop(self) -> None:
        self.stopping.set()
        self.collect_wanted.set()
        self.deliver_wake.set()

    def _shutdown(self) -> int:
        log.info("stopping", extra=facts(node=self.settings.node, grace=self.settings.shutdown_grace))
        if self.watch is not None:
            self.watch.stop()  # before the scheduler: the watch adds jobs to it
        self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + self.settings.shutdown_grace + 5
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.1))
        stuck = [t.name for t in self._threads if t.is_alive()]
        if self.web is not None:
            self.web.close()
        if self.deliverer is not None:
            self.deliverer.close()
        if self.store is not None:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                self.store.notices.clear_node(self.settings.node)   # what this node said no longer holds
        if self.store is not None:
            self.store.close()
        if stuck:
            # A transport that ignores its own timeout: what it held is leased and will be retried elsewhere.
            log.warning("stopped with threads still busy; their work is retried after its lease",
                        extra=facts(threads=",".join(stuck)))
            logging.shutdown()
            os._exit(0)
        log.info("stopped", extra=facts(node=self.settings.node))
        return 0

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # embedded in a test or another program: the caller stops us with stop()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("signal received", extra=facts(signal=signal.Signals(signum).name))
            self.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def _open_store(self) -> Store | None:
        """The store, waiting for it if it is not there yet (a database that starts after us)."""
        wait = 1.0
        while not self.stopping.is_set():
            try:
                return Store(self.config.store_url, connections=self.config.delivery.concurrency + 6)
            except StoreError as exc:
                log.warning("store unavailable, waiting", extra=facts(seconds=wait, error=_brief(exc)))
                self.stopping.wait(wait)
                wait = min(wait * 2, STORE_RETRY_MAX)
        return None

    def _start_thread(self, name: str, target: Any) -> None:
        def guarded() -> None:
            try:
                target()
            except Exception:  # the thread ends; /healthz now answers 503 and says which
                log.exception("thread stopped by an error; this node is unhealthy", extra=facts(thread=name))

        thread = threading.Thread(target=guarded, name=f"wirepub-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    # --- what runs when --------------------------------------------------------------------------------

    def _schedule(self) -> None:
        self.scheduler.add_job(self.collect_wanted.set, IntervalTrigger(seconds=self.settings.interval),
                               id="collect", coalesce=True, max_instances=1)
        assert self.publisher is not None
        for source in self.publisher.sources:
            if source.interval is not None:
                self.scheduler.add_job(self._pull, IntervalTrigger(seconds=source.interval), args=[source.name],
                                       id=f"pull:{source.name}", coalesce=True, max_instances=1)
        for partner in self.config.partners:
            if partner.schedule:
                self.scheduler.add_job(self.deliver_wake.set, CronTrigger.from_crontab(partner.schedule, timezone=UTC),
                                       id=f"batch:{partner.name}", coalesce=True, max_instances=1)
        self.scheduler.start()

    def _pull(self, name: str) -> None:
        with self._pulls_lock:
            self._due_pulls.add(name)
        self.collect_wanted.set()

    def _arm_embargo(self) -> None:
        """A date job at the next embargo time, so the story goes at its second and not at the next interval."""
        assert self.store is not None
        when = self.store.versions.next_embargo(self.clock.now())
        if when is None:
            if self.scheduler.get_job("embargo") is not None:
                self.scheduler.remove_job("embargo")
            return
        self.scheduler.add_job(self.collect_wanted.set, DateTrigger(when), id="embargo", replace_existing=True)

    def _collector(self) -> None:
        """Collect whenever asked. Asks that come while a collect runs make one more collect, not one each; and
        one collect starts no sooner than COLLECT_GAP after the last began, so that a steady stream of stories
        (the ingest API's 201s) is taken in batches instead of paying a collect's fixed cost for every story."""
        started = 0.0
        while not self.stopping.is_set():
            self.collect_wanted.wait()
            if self.stopping.is_set():
                return
            self.stopping.wait(max(0.0, started + COLLECT_GAP - time.monotonic()))
            self.collect_wanted.clear()
            started = time.monotonic()
            self.collect_once()

    def collect_once(self) -> PushReport:
        """One collect. With the watch running, the hot folder is looked at file by file, just those the
        watch saw change; the whole folder at start and every daemon.rescan seconds, in case the watch missed
        something (a network file system tells no watch about another machine's writes)."""
        assert self.publisher is not None
        touched, settled = self.watch.take() if self.watch is not None else (set(), set())
        whole = self.watch is None or not self.watch.running or time.monotonic() >= self._next_rescan
        with self._pulls_lock:
            pulls, self._due_pulls = self._due_pulls, set()
        names = {s.name for s in self.publisher.sources if s.interval is None} | pulls
        report = PushReport()
        try:
            if self.publisher.collect(report, settle=self.config.settle, settled=settled,
                                      only=None if whole else touched, sources=names):
                self._last_collect = self.clock.now()
                if whole:
                    self._next_rescan = time.monotonic() + self.settings.rescan
                self._sources_said(report, names)
                if report.unsettled:   # files still being written (a restart mid-drop): looked at again, not left
                    self._give_back(set(report.unsettled), set())   # for the next whole look, minutes away
                    self._look_once_settled()
            else:
                self._give_back(touched, settled)   # another node read the sources: this one's look is still due
                with self._pulls_lock:
                    self._due_pulls |= pulls
                # What this node just accepted may be newer than the other node's reading: look again soon.
                self.scheduler.add_job(self.collect_wanted.set, DateTrigger(
                    self.clock.now() + timedelta(seconds=BUSY_RETRY)), id="busy", replace_existing=True)
            self._arm_embargo()
        except sa.exc.SQLAlchemyError as exc:
            log.warning("store unavailable, collecting again at the next interval",
                        extra=facts(seconds=self.settings.interval, error=_brief(exc)))
            self._give_back(touched, settled)
            self._collect_failed(f"the store did not answer: {_brief(exc)}")
        except WirepubError as exc:  # a source that cannot be read at all (its folder gone)
            log.error("collect failed; trying again at the next interval", extra=facts(error=str(exc)))
            self._give_back(touched, settled)
            self._collect_failed(str(exc))
        except Exception as exc:  # one bad round must not end the daemon; the next interval tries again
            log.exception("collect failed; trying again at the next interval")
            self._give_back(touched, settled)
            self._collect_failed(f"{type(exc).__name__}: {_brief(exc)}")
        else:
            self._collect_ok()
        if report.released or report.new:
            log.info("collected", extra=facts(new=len(report.new), released=len(report.released),
                                              held=len(report.held), rejected=len(report.rejected)))
        self.deliver_wake.set()
        return report

    def _sources_said(self, report: PushReport, read: set[str]) -> None:
        """A source that cannot be read (its server away) while others can: after COLLECT_FAILURES_UNHEALTHY
        looks in a row every status page says so; the first good look clears it."""
        assert self.store is not None
        now = self.clock.now()
        for name in read:
            error = report.source_errors.get(name)
            failures = self._source_failures.get(name, 0)
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                if error is not None:
                    self._source_failures[name] = failures + 1
                    if failures + 1 >= COLLECT_FAILURES_UNHEALTHY:
                        self.store.notices.raise_(NoticeKind.SOURCE_FAILING, name, self.settings.node, error, now)
                elif failures:
                    self._source_failures[name] = 0
                    if failures >= COLLECT_FAILURES_UNHEALTHY:
                        self.store.notices.clear(NoticeKind.SOURCE_FAILING, name, self.settings.node)

    def _give_back(self, touched: set[str], settled: set[str]) -> None:
        if self.watch is not None:
            self.watch.give_back(touched, settled)

    def _collect_failed(self, why: str) -> None:
        """Collects that keep failing make this node unhealthy (/healthz 503) and say so on every status
        page, until one succeeds again."""
        self._collect_failures += 1
        self._collect_trouble = why
        if self._collect_failures == COLLECT_FAILURES_UNHEALTHY and self.store is not None:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                self.store.notices.raise_(NoticeKind.COLLECT_FAILING, "-", self.settings.node, why, self.clock.now())

    def _collect_ok(self) -> None:
        if self._collect_failures >= COLLECT_FAILURES_UNHEALTHY and self.store is not None:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                self.store.notices.clear(NoticeKind.COLLECT_FAILING, "-", self.settings.node)
        self._collect_failures, self._collect_trouble = 0, None

    def _watch(self) -> None:
        """Collect at once when a story file is complete in the hot folder; look again once one still being
        written has been still for the settle time."""
        watch = FolderWatch(self.config.source_path, on_settled=self.collect_wanted.set,
                            on_touched=self._look_once_settled)
        if watch.start():
            self.watch = watch
        else:
            log.warning("collecting by looking at the whole hot folder every interval instead",
                        extra=facts(seconds=self.settings.interval))

    def _look_once_settled(self) -> None:
        """A collect once a file seen changing has been still for the settle time."""
        self.scheduler.add_job(self.collect_wanted.set, DateTrigger(
            self.clock.now() + timedelta(seconds=self.config.settle + 0.05)), id="settle", replace_existing=True)

    # --- health -------------------------------------------------------------------------------------

    def health(self) -> tuple[bool, dict[str, Any]]:
        """ok, and the facts behind it: the store answers, every thread of this node is alive (the deliverer
        among them), and collects are not failing again and again."""
        state: dict[str, Any] = {"node": self.settings.node,
                                 "last_collect": self._last_collect.isoformat() if self._last_collect else None}
        dead = [t.name for t in self._threads if not t.is_alive()]
        ok = not self.stopping.is_set() and not dead
        if dead:
            state["threads_stopped"] = dead
        if self._collect_failures >= COLLECT_FAILURES_UNHEALTHY:
            ok = False
            state["collect"] = f"failing ({self._collect_failures} in a row): {self._collect_trouble}"
        try:
            assert self.store is not None
            self.store.ping()
            state["store"] = "ok"
        except (sa.exc.SQLAlchemyError, AssertionError) as exc:
            state["store"] = f"unavailable: {_brief(exc)}" if not isinstance(exc, AssertionError) else "not open"
            ok = False
        state["status"] = "ok" if ok else ("stopping" if self.stopping.is_set() else "unhealthy")
        return ok, state


def _brief(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:300]

