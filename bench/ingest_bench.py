"""The ingest API (issue 11), on loopback: how many stories per second `wirepub run` accepts (201) from 16
concurrent clients, and how long from a story's 201 to its arrival at an HTTPS partner at a steady 50 stories/s.
Then the WordPress source: from a post's publication (WordPress's answer to the REST call that published it) to
its arrival at the partner, with the default poll interval (60 s), against a real WordPress
(wirepub_testkit.servers.wordpress; skipped, saying why, where it cannot run).

Each run starts its own daemon (SQLite store in a temporary folder, or --store-url) with one api source and one
partner pushing NewsML-G2 to the tests' HTTPS receiver (a trustme CA), and stops it at the end.

    .venv/bin/python bench/ingest_bench.py                        # 2,000 stories by 16 clients; 50/s for 20 s; WP
    .venv/bin/python bench/ingest_bench.py --no-wordpress --rate-seconds 10
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from wirepub_testkit.daemon import Running
from wirepub_testkit.servers import ServerUnavailable
from wirepub_testkit.servers.http import Receiver, Recorded, receiver_ca
from wirepub_testkit.waiting import WaitTimeout, wait_until

BOUND = 300.0
TOKEN = "bench-token"


class TimedReceiver(Receiver):
    """The tests' HTTPS receiver, noting when each request arrived (before it is answered)."""

    def __init__(self, folder: Path) -> None:
        import ssl

        self.arrived: dict[str, float] = {}
        self._arrived_lock = threading.Lock()
        ca = receiver_ca()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        ca_file = folder / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        super().__init__(tls=context, ca_file=ca_file)

    def _record(self, recorded: Recorded) -> None:
        with self._arrived_lock:
            self.arrived.setdefault(recorded.header("X-Wirepub-Path") or recorded.path, time.time())
        super()._record(recorded)


def story(story_id: str) -> dict[str, Any]:
    return {"id": story_id, "version": 1, "headline": f"Ingest probe {story_id}", "language": "en",
            "body": "<p>A paragraph long enough to look like news. " * 8 + "</p>",
            "first_created": "2026-11-25T10:00:00Z", "version_created": "2026-11-25T10:00:00Z"}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


class Daemon:
    def __init__(self, root: Path, receiver: TimedReceiver, sources: str, store_url: str | None,
                 extra_env: dict[str, str] | None = None) -> None:
        (root / "wirepub.toml").write_text(
            f'[daemon]\nlisten = "127.0.0.1:0"\nwatch = false\n\n{sources}\n'
            f'[[partners]]\nname = "push"\nformats = ["newsml-g2"]\n'
            f'[[partners.destinations]]\nurl = "{receiver.url}/in"\nca_file = "{receiver.ca_file}"\n',
            encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k not in ("WIREPUB_CONFIG", "WIREPUB_STORE_URL",
                                                                 "WIREPUB_STATUS_TOKEN")}
        env.update(CMS_TOKEN=TOKEN, **(extra_env or {}))
        if store_url:
            env["WIREPUB_STORE_URL"] = store_url
        self.running = Running(root, env, wait_seconds=BOUND)
        self.base = self.running.health.rsplit("/", 1)[0]

    def stop(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.running.terminate()


API_SOURCE = '[[sources]]\nname = "cms"\nkind = "api"\ntokens_env = ["CMS_TOKEN"]\nqueue_limit = 1000000\n'


def throughput(stories: int, clients: int, store_url: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wirepub-ingest-") as tmp:
        receiver = TimedReceiver(Path(tmp))
        daemon = Daemon(Path(tmp), receiver, API_SOURCE, store_url)
        try:
            local = threading.local()

            def post(i: int) -> int:
                if not hasattr(local, "client"):
                    local.client = httpx.Client(base_url=daemon.base, timeout=60, trust_env=False,
                                                headers={"Authorization": f"Bearer {TOKEN}"})
                return local.client.post("/api/v1/stories", json=story(f"t{i:05}")).status_code

            start = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                codes = list(pool.map(post, range(stories)))
            seconds = time.perf_counter() - start
            wanted = {f"items/t{i:05}/v1.xml" for i in range(stories)}
            wait_until(lambda: wanted <= set(receiver.arrived), "every story at the receiver", timeout=BOUND)
            drained = time.perf_counter() - start
        finally:
            daemon.stop()
            receiver.stop()
    return {"stories": stories, "clients": clients, "seconds": seconds, "per_second": stories / seconds,
            "created": codes.count(201), "other": len(codes) - codes.count(201), "delivered_all_after": drained}


def latency(rate: float, seconds: float, store_url: str | None) -> dict[str, Any]:
    count = int(rate * seconds)
    with tempfile.TemporaryDirectory(prefix="wirepub-ingest-") as tmp:
        receiver = TimedReceiver(Path(tmp))
        daemon = Daemon(Path(tmp), receiver, API_SOURCE, store_url)
        answered: dict[str, float] = {}
        try:
            local = threading.local()

            def post(i: int, due: float) -> None:
                time.sleep(max(0.0, due - time.perf_counter()))
                if not hasattr(local, "client"):
                    local.client = httpx.Client(base_url=daemon.base, timeout=60, trust_env=False,
                                                headers={"Authorization": f"Bearer {TOKEN}"})
                answer = local.client.post("/api/v1/stories", json=story(f"l{i:05}"))
                if answer.status_code == 201:
                    answered[f"items/l{i:05}/v1.xml"] = time.time()

            start = time.perf_counter() + 0.5
            with ThreadPoolExecutor(16) as pool:   # open loop: each story at its time, whatever the others do
                for i in range(count):
                    pool.submit(post, i, start + i / rate)
            wait_until(lambda: set(answered) <= set(receiver.arrived), "every story at the receiver",
                       timeout=BOUND, interval=0.01)
        finally:
            daemon.stop()
            receiver.stop()
        stages = _stages(daemon.running.lines())
    lags = [receiver.arrived[p] - t for p, t in answered.items()]
    return {"rate": rate, "stories": len(lags), "p50": statistics.median(lags), "p90": percentile(lags, 90),
            "p99": percentile(lags, 99), "max": max(lags), "stages": stages}


def _stages(lines: list[dict[str, Any]]) -> dict[str, float]:
    """Where the time went, from the daemon's own log lines: the 201 (accepted) to the story recorded by the
    collect, and recorded to delivered; medians in seconds."""
    from datetime import datetime

    at: dict[str, dict[str, float]] = {}
    for e in lines:
        if e.get("msg") in ("story accepted", "story recorded", "delivered") and e.get("story"):
            at.setdefault(e["story"], {}).setdefault(e["msg"], datetime.fromisoformat(e["ts"]).timestamp())
    whole = [t for t in at.values() if len(t) == 3]
    if not whole:
        return {}
    return {"accepted_to_recorded": statistics.median(t["story recorded"] - t["story accepted"] for t in whole),
            "recorded_to_delivered": statistics.median(t["delivered"] - t["story recorded"] for t in whole)}


def wordpress_lag(posts: int) -> dict[str, Any] | str:
    from wirepub_testkit.servers.wordpress import start_wordpress

    try:
        site_context = start_wordpress()
        site = site_context.__enter__()
    except ServerUnavailable as exc:
        return f"skipped: {exc}"
    try:
        with tempfile.TemporaryDirectory(prefix="wirepub-wp-") as tmp:
            receiver = TimedReceiver(Path(tmp))
            sources = (f'[[sources]]\nname = "site"\nkind = "wordpress"\nurl = "{site.url}"\nuser = "{site.user}"\n'
                       'password_env = "WP_APP_PASSWORD"\n')   # the default interval: 60 s
            daemon = Daemon(Path(tmp), receiver, sources, None, {"WP_APP_PASSWORD": site.password})
            published: dict[str, float] = {}
            try:
                for i in range(posts):
                    post = site.post(title=f"Lag probe {i}", content=f"<p>Published for the lag probe {i}.</p>")
                    published[f"items/wp-{post['id']}/v1.xml"] = time.time()
                    time.sleep(60 / posts * 2)   # spread over two poll intervals
                wait_until(lambda: set(published) <= set(receiver.arrived), "every post at the receiver",
                           timeout=BOUND)
            finally:
                daemon.stop()
                receiver.stop()
        lags = [receiver.arrived[p] - t for p, t in published.items()]
        return {"posts": len(lags), "p50": statistics.median(lags), "max": max(lags)}
    finally:
        site_context.__exit__(None, None, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stories", type=int, default=2000, help="stories for the throughput run")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=float, default=50.0, help="stories per second for the latency run")
    parser.add_argument("--rate-seconds", type=float, default=20.0)
    parser.add_argument("--posts", type=int, default=6, help="WordPress posts for the lag run")
    parser.add_argument("--no-wordpress", action="store_true")
    parser.add_argument("--store-url", help="a PostgreSQL store instead of SQLite (postgresql+psycopg://...)")
    args = parser.parse_args()
    try:
        t = throughput(args.stories, args.clients, args.store_url)
        print(f"\nIngest: {t['stories']} stories POSTed by {t['clients']} clients on loopback in {t['seconds']:.1f} s: "
              f"{t['per_second']:.0f} stories/s accepted (201: {t['created']}, other: {t['other']}); all delivered "
              f"to the HTTPS partner {t['delivered_all_after']:.1f} s after the first POST", flush=True)
        r = latency(args.rate, args.rate_seconds, args.store_url)
        print(f"201 to delivery at {r['rate']:g} stories/s ({r['stories']} stories, HTTPS partner): "
              f"p50 {r['p50'] * 1000:.0f} ms, p90 {r['p90'] * 1000:.0f} ms, p99 {r['p99'] * 1000:.0f} ms, "
              f"max {r['max'] * 1000:.0f} ms (target: p99 under 100 ms); medians by stage (daemon log): "
              + ", ".join(f"{k.replace('_', ' ')} {v * 1000:.0f} ms" for k, v in r["stages"].items()), flush=True)
        if not args.no_wordpress:
            w = wordpress_lag(args.posts)
            if isinstance(w, str):
                print(f"WordPress: {w}")
            else:
                print(f"WordPress publication to delivery, default poll interval (60 s), {w['posts']} posts: "
                      f"p50 {w['p50']:.1f} s, max {w['max']:.1f} s")
    except WaitTimeout as exc:
        raise SystemExit(f"gave up: {exc}") from None


if __name__ == "__main__":
    sys.exit(main())
