"""A second and third node add capacity (issue 13, item 8): 1, 2 and 3 `wirepub run` daemons on one PostgreSQL,
delivering stories to HTTPS partners that take 200 ms to answer (as remote partners do), in the same run.

    .venv/bin/python bench/nodes_bench.py [--stories 1000] [--partners 4] [--answer-ms 200] [--nodes 1,2,3]

For each count of nodes: a fresh database, the stories in a hot folder the nodes share, the daemons started
together; reported are the deliveries per second (from the first delivery to the last) and the same-run ratio
to one node (target: 3 nodes at 2.5x or more), which node delivered how much (the ledger's delivered_by), the
PostgreSQL sessions opened, and that no item reached a partner twice. Then a push of the same stories into a
folder on PostgreSQL and on SQLite (target: PostgreSQL within 1.3x).

PostgreSQL is looked for at $WIREPUB_TEST_PG (a server URL), else postgresql://127.0.0.1:5432/postgres.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import sites  # bench/sites.py, beside this script

from wirepub_testkit.servers.http import tls_receiver

PG_SERVER = os.environ.get("WIREPUB_TEST_PG", "postgresql://127.0.0.1:5432/postgres")
WIREPUB = [sys.executable, "-m", "wirepub.cli"]


def database() -> tuple[str, str]:
    """A fresh database: (its SQLAlchemy URL, its name)."""
    import psycopg

    name = f"wirepub_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", name


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sessions(name: str) -> int:
    import psycopg

    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        row = admin.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (name,)).fetchone()
    return int(row[0]) if row and row[0] is not None else -1


def config(root: Path, url: str, receiver_url: str, ca_file: Path, partners: int) -> None:
    text = (f'[source]\nsettle = 0\n\n[store]\nurl = "{url}"\n\n[daemon]\nlisten = "127.0.0.1:0"\ninterval = 1\n')
    for i in range(partners):
        text += (f'\n[[partners]]\nname = "p{i}"\nformats = ["newsml-g2"]\n[[partners.destinations]]\n'
                 f'url = "{receiver_url}/p{i}"\nca_file = "{ca_file}"\n')
    (root / "wirepub.toml").write_text(text)


def delivered(url: str) -> tuple[int, dict[str, int]]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT delivered_by, count(*) FROM deliveries WHERE state = 'delivered' "
                                 "GROUP BY delivered_by")).all()
    engine.dispose()
    return sum(n for _, n in rows), {str(by): n for by, n in rows}


def run_nodes(count: int, stories: int, partners: int, receiver, scratch: Path) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from wirepub.store import Store

    url, name = database()
    Store(url).close()   # the tables, before several nodes start on them
    root = scratch / f"nodes-{count}"
    (root / "stories").mkdir(parents=True)
    config(root, url, receiver.url, receiver.ca_file, partners)
    receiver.clear()
    sites.write_stories(root / "stories", 0, stories)
    expected = stories * partners
    procs = [subprocess.Popen([*WIREPUB, "run"], cwd=root, stdout=subprocess.DEVNULL,
                              stderr=(root / f"node-{i}.log").open("wb")) for i in range(count)]
    try:
        first = last = None
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            done, _ = delivered(url)
            now = time.monotonic()
            if done and first is None:
                first = now
            if done >= expected:
                last = now
                break
            time.sleep(0.2)
        if last is None or first is None:
            raise SystemExit(f"{count} nodes: not all {expected} deliveries within 30 minutes")
        total, by_node = delivered(url)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(120)
    paths = Counter(r.path for r in receiver.requests if r.method == "POST")
    twice = sum(1 for n in paths.values() if n > 1)
    result = {"nodes": count, "seconds": last - first, "rate": total / max(last - first, 1e-6),
              "by_node": sorted(by_node.values(), reverse=True), "twice": twice, "sessions": sessions(name)}
    drop_database(name)
    return result


def push_pg_vs_sqlite(stories: int, scratch: Path) -> tuple[float, float]:
    times = {}
    for kind in ("postgresql", "sqlite"):
        root = scratch / f"push-{kind}"
        (root / "stories").mkdir(parents=True)
        url, name = database() if kind == "postgresql" else (f"sqlite:///{root}/wirepub.db", "")
        (root / "wirepub.toml").write_text(sites.config_text(url))
        sites.write_stories(root / "stories", 0, stories)
        start = time.perf_counter()
        done = subprocess.run([*WIREPUB, "push", "--json"], cwd=root, capture_output=True, text=True)
        times[kind] = time.perf_counter() - start
        if done.returncode != 0 or len(json.loads(done.stdout)["released"]) != stories:
            raise SystemExit(f"push on {kind} failed: {done.stderr[-2000:]}")
        if name:
            drop_database(name)
    return times["postgresql"], times["sqlite"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stories", type=int, default=1000)
    parser.add_argument("--partners", type=int, default=4)
    parser.add_argument("--answer-ms", type=float, default=200.0)
    parser.add_argument("--nodes", default="1,2,3")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wirepub-nodes-") as folder:
        scratch = Path(folder)
        receiver = tls_receiver(scratch)
        receiver.respond_with(200, hang=args.answer_ms / 1000)
        try:
            results = [run_nodes(int(n), args.stories, args.partners, receiver, scratch)
                       for n in args.nodes.split(",")]
        finally:
            receiver.stop()
        base = results[0]["rate"]
        print(f"{args.stories:,} stories to {args.partners} HTTPS partners answering in {args.answer_ms:.0f} ms, "
              "daemons sharing one PostgreSQL:")
        for r in results:
            print(f"  {r['nodes']} node(s): {r['rate']:7.1f} deliveries/s ({r['rate'] / base:.2f}x one node), "
                  f"by node {r['by_node']}, PostgreSQL sessions {r['sessions']}, items delivered twice: {r['twice']}")
        pg, lite = push_pg_vs_sqlite(args.stories, scratch)
        print(f"`wirepub push` of {args.stories:,} stories into a folder: PostgreSQL {pg:.2f} s, SQLite {lite:.2f} s, "
              f"{pg / lite:.2f}x (target: 1.3x or less)")


if __name__ == "__main__":
    main()
