"""Several daemons with nothing shared but PostgreSQL (issue 11, item 7): three `wirepub run` processes with the
ingest API and no hot folder, 1,000 stories POSTed round-robin to the three, one node SIGKILLed mid-run. Every
story reaches every partner exactly once (the ledger says delivered once per partner and story; the receiver got
each document, and any copy sent again after the kill is the same bytes under the same idempotency key)."""

from __future__ import annotations

import itertools
import os
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from wirepub.store import Store, deliveries
from wirepub_testkit.daemon import Running
from wirepub_testkit.servers.http import Receiver
from wirepub_testkit.waiting import wait_until

STORIES = 1000
PARTNERS = 2
NODES = 3
KILL_AFTER = 300   # stories accepted before the victim is killed
TOKEN = "multinode-token"


def test_three_api_nodes_share_1000_posted_stories_and_survive_a_sigkill(tmp_path: Path, http_receiver: Receiver,
                                                                         pg_url: str) -> None:
    partners = "".join(
        f'\n[[partners]]\nname = "p{i}"\nformats = ["newsml-g2"]\ndestinations = ["{http_receiver.url}/p{i}"]\n'
        for i in range(PARTNERS))
    (tmp_path / "wirepub.toml").write_text(
        '[daemon]\nlisten = "127.0.0.1:0"\ninterval = 0.5\nlease = 3\n\n'
        '[[sources]]\nname = "cms"\nkind = "api"\ntokens_env = ["CMS_TOKEN"]\nqueue_limit = 100000\n' + partners,
        encoding="utf-8")
    http_receiver.respond_with(200, hang=0.005)
    env = {**os.environ, "WIREPUB_STORE_URL": pg_url, "CMS_TOKEN": TOKEN}
    for name in ("WIREPUB_CONFIG", "WIREPUB_STATUS_TOKEN"):
        env.pop(name, None)
    nodes = [Running(tmp_path, env) for _ in range(NODES)]
    bases = [n.health.rsplit("/", 1)[0] for n in nodes]
    alive = [True] * NODES
    accepted: Counter[int] = Counter()
    lock = threading.Lock()
    turn = itertools.count()
    store = Store(pg_url)
    victim = nodes[0]

    def post(i: int) -> int:
        doc = {"id": f"s{i:04}", "version": 1, "headline": f"Story {i}", "body": f"<p>Body {i}.</p>"}
        for _ in range(20):
            k = next(turn) % NODES
            if not alive[k]:
                continue
            try:
                with httpx.Client(timeout=30, trust_env=False) as client:
                    answer = client.post(f"{bases[k]}/api/v1/stories", json=doc,
                                         headers={"Authorization": f"Bearer {TOKEN}"})
            except httpx.TransportError:
                continue   # the node was killed under us: the same story to another node (idempotent)
            if answer.status_code in (200, 201):
                with lock:
                    accepted[answer.status_code] += 1
                    if k == 0 and sum(accepted.values()) >= KILL_AFTER and alive[0]:
                        alive[0] = False
                        victim.kill()
                return answer.status_code
            raise AssertionError(f"s{i:04}: {answer.status_code} {answer.text}")
        raise AssertionError(f"s{i:04}: no node took it")

    try:
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(post, range(STORIES)))
        assert not alive[0], "the victim was killed mid-run"
        d = deliveries.c

        def all_delivered() -> bool:
            rows = {r["partner"]: r for r in store.reads.status(datetime.now(UTC))}
            return len(rows) == PARTNERS and all(
                r["delivered"] == STORIES and not (r["pending"] or r["failed"] or r["dead"]) for r in rows.values())

        wait_until(all_delivered, f"all {STORIES * PARTNERS} deliveries recorded as delivered", timeout=300)
        with store.engine.connect() as c:
            per_story = c.execute(sa.select(d.partner, d.story_id, sa.func.count()).where(d.state == "delivered")
                                  .group_by(d.partner, d.story_id)).all()
            versions = c.execute(sa.text("SELECT count(*) FROM story_versions")).scalar_one()
        for node in nodes[1:]:
            assert node.terminate() == 0
    finally:
        store.close()
        for node in nodes:
            node.kill()
    assert set(codes) <= {200, 201}
    assert versions == STORIES                                          # each story recorded once
    assert len(per_story) == STORIES * PARTNERS and {n for *_, n in per_story} == {1}   # once per partner
    complete = [r for r in http_receiver.requests
                if "/items/" in r.path and len(r.body) == int(r.header("Content-Length") or 0)]
    seen: dict[str, set[tuple[bytes, str | None]]] = defaultdict(set)
    for r in complete:
        seen[r.path].add((r.body, r.header("Idempotency-Key")))
    assert set(seen) == {f"/p{p}/items/s{i:04}/v1.xml" for p in range(PARTNERS) for i in range(STORIES)}
    assert all(len(copies) == 1 for copies in seen.values())
    print(f"answers {dict(accepted)}; {len(complete) - len(seen)} re-sends of the same bytes after the kill")
