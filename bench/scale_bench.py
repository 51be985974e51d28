"""The pipeline at the speed of its parts, and costs that do not grow with the archive (issue 13, items 1-5).

    .venv/bin/python bench/scale_bench.py [--stories 5000] [--small 1000] [--large 100000] [--noop 50000]
                                          [--idle-seconds 60] [--parts push,archive,claims,idle,ledger]

push     N new stories into the folder destination: stories/s of `wirepub push` (in this process, one core),
         against wirepub's own read + render + validate of the same stories in the same run (target: 1,500/s
         or more, and within 2x of its parts).
archive  a push of one new story into a site of --small and of --large published stories, the hot folder
         still holding every published file (and, separately, with the files moved out): wall time and peak
         memory of the `wirepub push` process (target: large within 1.2x of small); a no-op push with --noop
         unchanged files in the folder (target: under 1 s).
claims   ledger.claim() per call at --small and --large delivered stories (target: within 1.2x), with the
         query plans SQLite and PostgreSQL (if one answers on 127.0.0.1:5432) choose.
idle     `wirepub run` idle for --idle-seconds at 10,000 and at --large stories: CPU seconds used and memory
         (target: under 0.5 CPU-s, memory not growing with the archive).
ledger   the store's size after pushes of one story each, and what a year at 1,000 stories a day comes to.

Every figure is printed with the same-run ratio it is judged by. Sites are built in a temporary folder through
the store's batch API (bench/sites.py), not by pushing 100,000 stories.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sites  # bench/sites.py: Python puts this script's folder first on its path

from wirepub import app
from wirepub.clock import SystemClock
from wirepub.config import load_config
from wirepub.formats import get_format
from wirepub.publisher import folder_source
from wirepub.rendering import Renderer
from wirepub.validate import Validator

WIREPUB = [sys.executable, "-m", "wirepub.cli"]


def one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def run_measured(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, float]:
    """A wirepub process: wall seconds, CPU seconds, peak memory (MB), from its own rusage."""
    start = time.perf_counter()
    proc = subprocess.Popen([*WIREPUB, *args], cwd=cwd, env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        said = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        raise SystemExit(f"wirepub {' '.join(args)} failed: {said}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}


# --- item 1 -------------------------------------------------------------------------------------------

def bench_push(count: int, scratch: Path) -> None:
    one_core()
    root = scratch / "push"
    sites.write_stories(root / "stories", 0, count)
    (root / "wirepub.toml").write_text(sites.config_text(f"sqlite:///{root}/wirepub.db"))
    config = load_config(root / "wirepub.toml")

    parts = Renderer(config.provider, config.channel, Validator(config.official_schemas))
    source = folder_source(config, SystemClock())
    newsml, partner = get_format("newsml-g2"), config.partners[0]
    start = time.perf_counter()
    for path in sorted((root / "stories").iterdir()):
        parts.item(partner, newsml, source.read(str(path)))  # type: ignore[arg-type]
    own = time.perf_counter() - start

    start = time.perf_counter()
    report = app.push(config)
    push = time.perf_counter() - start
    assert len(report.released) == count and report.ok, report.failures[:3]
    print(f"push of {count:,} new stories into a folder, one core:")
    print(f"  read + render + validate (wirepub's own parts): {own:6.2f} s  {count / own:8.0f} stories/s")
    print(f"  wirepub push, end to end:                       {push:6.2f} s  {count / push:8.0f} stories/s "
          f"(collect {report.seconds['collect']:.2f} s, deliver {report.seconds['deliver']:.2f} s)")
    print(f"  push / parts: {push / own:.2f}x  (target: within 2x; 1,500 stories/s or more)")


# --- item 2 -------------------------------------------------------------------------------------------

def bench_archive(small: int, large: int, noop: int, scratch: Path) -> None:
    results: dict[tuple[str, int], dict[str, float]] = {}
    for keep in (True, False):
        for size in (small, large):
            root = sites.build_published_site(scratch / f"site-{size}-{keep}", size, keep_files=keep)
            runs = []
            for i in range(3):
                sites.write_stories(root / "stories", size + i, 1)
                runs.append(run_measured(["push"], root))
            results[("kept" if keep else "moved out", size)] = {k: statistics.median(r[k] for r in runs)
                                                                for k in runs[0]}
    print("a push of one new story into a published site (median of 3 `wirepub push` processes):")
    for files in ("kept", "moved out"):
        a, b = results[(files, small)], results[(files, large)]
        print(f"  files {files:9}: {small:>7,} stories {a['wall']:5.2f} s {a['rss_mb']:5.0f} MB | "
              f"{large:>7,} stories {b['wall']:5.2f} s {b['rss_mb']:5.0f} MB | time {b['wall'] / a['wall']:.2f}x, "
              f"memory {b['rss_mb'] / a['rss_mb']:.2f}x  (target: 1.2x or less)")
    root = sites.build_published_site(scratch / f"noop-{noop}", noop, keep_files=True)
    nothing = statistics.median(run_measured(["push"], root)["wall"] for _ in range(3))
    print(f"  a no-op push with {noop:,} unchanged files in the folder: {nothing:.2f} s  (target: under 1 s)")


# --- item 3 -------------------------------------------------------------------------------------------

def bench_claims(small: int, large: int, scratch: Path) -> None:
    from datetime import timedelta

    import sqlalchemy as sa

    from wirepub.store import Store

    print("ledger.claim() per call, with 1,000 open deliveries beside the delivered archive:")
    per_call = {}
    for size in (small, large):
        root = sites.build_published_site(scratch / f"claims-{size}", size, keep_files=False)
        store = Store(f"sqlite:///{root}/wirepub.db")
        with store.engine.begin() as c:
            c.execute(sa.text("UPDATE deliveries SET state = 'pending', next_attempt_at = created_at "
                              "WHERE id IN (SELECT id FROM deliveries ORDER BY id DESC LIMIT 1000)"))
        now = sites.BASE + timedelta(days=2)
        start = time.perf_counter()
        for _ in range(30):
            store.ledger.claim("bench", now, lease_seconds=60, partner="site", limit=32)
        per_call[size] = (time.perf_counter() - start) / 30
        if size == large:
            print("  SQLite's plan:", "; ".join(plan_of_claim(store)))
        store.close()
        print(f"  {size:>7,} stories: {per_call[size] * 1000:6.2f} ms")
    print(f"  {large:,} / {small:,}: {per_call[large] / per_call[small]:.2f}x  (target: 1.2x or less)")


def plan_of_claim(store: Any) -> list[str]:
    """The plan the database chooses for a claim's selection of open deliveries."""
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from wirepub.store.ledger import claim_query

    query = claim_query(datetime.now(UTC), partner="site", limit=32)
    compiled = query.compile(store.engine, compile_kwargs={"literal_binds": True})
    with store.engine.connect() as c:
        prefix = "EXPLAIN QUERY PLAN " if store.engine.dialect.name == "sqlite" else "EXPLAIN "
        rows = c.execute(sa.text(prefix + str(compiled))).all()
    return [str(r[-1]) for r in rows]


# --- item 4 -------------------------------------------------------------------------------------------

def bench_idle(sizes: list[int], seconds: float, scratch: Path) -> None:
    print(f"`wirepub run` idle for {seconds:.0f} s:")
    for size in sizes:
        root = sites.build_published_site(scratch / f"idle-{size}", size, keep_files=True)
        with (root / "wirepub.toml").open("a") as fh:
            fh.write('\n[daemon]\nlisten = "127.0.0.1:0"\n')
        proc = subprocess.Popen([*WIREPUB, "run"], cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert proc.stderr is not None
            while b'"running"' not in proc.stderr.readline():
                if proc.poll() is not None:
                    raise SystemExit("the daemon did not start")
            time.sleep(5)                         # its first look at the whole folder
            before, rss_before = cpu_and_rss(proc.pid)
            time.sleep(seconds)
            after, rss_after = cpu_and_rss(proc.pid)
        finally:
            proc.terminate()
            proc.wait(60)
        print(f"  {size:>7,} stories: {after - before:5.2f} CPU-s, memory {rss_before:5.0f} MB -> {rss_after:5.0f} MB"
              "  (target: under 0.5 CPU-s)")


def cpu_and_rss(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = int(fields[21]) * resource.getpagesize() / 1_000_000
    return cpu, rss


# --- item 5 -------------------------------------------------------------------------------------------

def bench_ledger(scratch: Path, pushes: int = 30) -> None:
    """The store's growth per one-story push, measured twice: feed copies never forgotten, and replaced copies
    forgotten at every push (feed_retention = 0, and the store told its last pruning was two hours ago, so the
    hourly pruning runs each time, as it would at pushes an hour apart). The difference is what a feed copy
    costs; with the default retention a year keeps its items and a week of feed copies."""
    from datetime import UTC, datetime, timedelta

    from wirepub.config import DEFAULT_FEED_RETENTION
    from wirepub.store import Store

    print(f"the store's growth per one-story push (over the last {pushes - pushes // 3} of {pushes} pushes):")
    growth = {}
    for label, retention in (("feed copies never forgotten", None), ("replaced feed copies forgotten", 0)):
        root = scratch / f"ledger-{retention}"
        url = f"sqlite:///{root}/wirepub.db"
        (root / "stories").mkdir(parents=True)
        text = sites.config_text(url)
        if retention is not None:
            text = text.replace("[store]\n", f"[store]\nfeed_retention = {retention}\n")
        (root / "wirepub.toml").write_text(text)
        sizes = []
        for i in range(pushes):
            sites.write_stories(root / "stories", i, 1)
            run_measured(["push"], root)
            store = Store(url)
            sizes.append(store.upkeep.size_bytes() or 0)
            if retention is not None:
                store.upkeep.pruned(datetime.now(UTC) - timedelta(hours=2))
            store.close()
        growth[retention] = (sizes[-1] - sizes[pushes // 3]) / (pushes - pushes // 3 - 1)
        print(f"  {label:32} {growth[retention] / 1000:6.1f} kB per push")
    items, copies = growth[0], max(0.0, growth[None] - growth[0])
    days = DEFAULT_FEED_RETENTION / 86_400
    year = 365_000 * items + min(days, 365) * 1000 * copies
    print(f"  a year at 1,000 stories a day, feed copies kept {days:g} days (the default): {year / 1e9:.2f} GB "
          f"(items {365_000 * items / 1e9:.2f} GB, a window of feed copies {min(days, 365) * 1000 * copies / 1e9:.2f} "
          f"GB); never forgotten: {365_000 * growth[None] / 1e9:.2f} GB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stories", type=int, default=5000)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--noop", type=int, default=50_000)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--parts", default="push,archive,claims,idle,ledger")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    with tempfile.TemporaryDirectory(prefix="wirepub-scale-") as folder:
        scratch = Path(folder)
        if "push" in parts:
            bench_push(args.stories, scratch)
        if "archive" in parts:
            bench_archive(args.small, args.large, args.noop, scratch)
        if "claims" in parts:
            bench_claims(args.small, args.large, scratch)
        if "idle" in parts:
            bench_idle([10_000, args.large], args.idle_seconds, scratch)
        if "ledger" in parts:
            bench_ledger(scratch)


if __name__ == "__main__":
    main()
