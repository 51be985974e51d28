"""Several daemons on one PostgreSQL store share the work, and a node killed mid-run loses nothing: three
`wirepub run` processes, 500 stories to four partners, one node SIGKILLed while deliveries are under way.
Checked from the receiver's own records and from the ledger, which must agree."""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from wirepub.store import Store, deliveries
from wirepub_testkit.daemon import Running, drop_atomically
from wirepub_testkit.servers.http import Receiver
from wirepub_testkit.waiting import wait_until

STORIES = 500
PARTNERS = 4
NODES = 3
LEASE = 3          # seconds: a dead node's work is taken over this long after it stopped renewing


def test_three_nodes_share_500_stories_to_four_partners_and_survive_a_sigkill(
        tmp_path: Path, story_doc, http_receiver: Receiver, pg_url: str) -> None:  # noqa: F811
    stories = tmp_path / "stories"
    stories.mkdir()
    partners = "".join(
        f'\n[[partners]]\nname = "p{i}"\nformats = ["newsml-g2"]\ndestinations = ["{http_receiver.url}/p{i}"]\n'
        for i in range(PARTNERS))
    (tmp_path / "wirepub.toml").write_text(
        f'[daemon]\nlisten = "127.0.0.1:0"\ninterval = 0.5\nlease = {LEASE}\n{partners}', encoding="utf-8")
    http_receiver.respond_with(200, hang=0.02)  # every node always has requests in flight when one dies
    env = {**os.environ, "WIREPUB_STORE_URL": pg_url}
    env.pop("WIREPUB_CONFIG", None)

    def items_at_receiver() -> int:
        return sum(1 for r in http_receiver.requests if "/items/" in r.path)

    nodes = [Running(tmp_path, env) for _ in range(NODES)]
    store = Store(pg_url)
    d = deliveries.c
    try:
        for i in range(STORIES):
            drop_atomically(stories, f"s{i:03}.json", story_doc(id=f"s{i:03}"))
        victim = nodes[0]
        victim_node = next(e["node"] for e in victim.lines() if e.get("msg") == "starting")

        def victim_holds() -> list[int]:
            with store.engine.connect() as c:
                return list(c.execute(sa.select(d.id).where(d.lease_owner == victim_node,
                                                            d.state.in_(("pending", "failed")))).scalars())

        # Kill it mid-delivery: once deliveries are well under way and it holds work it has not finished.
        wait_until(lambda: items_at_receiver() >= STORIES * PARTNERS * 0.3 and victim_holds(),
                   "deliveries under way, with the victim holding leased work")
        victim.kill()
        orphaned = victim_holds()
        killed_at = items_at_receiver()

        def all_delivered() -> bool:
            rows = {r["partner"]: r for r in store.reads.status(datetime.now(UTC))}
            return len(rows) == PARTNERS and all(
                r["delivered"] == STORIES and not (r["pending"] or r["failed"] or r["dead"]) for r in rows.values())

        wait_until(all_delivered, f"all {STORIES * PARTNERS} deliveries recorded as delivered")
        ledger = {r["partner"]: r["delivered"] for r in store.reads.status(datetime.now(UTC))}
        with store.engine.connect() as c:
            taken_over = c.execute(sa.select(d.state, sa.func.count()).where(d.id.in_(orphaned))
                                   .group_by(d.state)).all()
        for node in nodes[1:]:
            assert node.terminate() == 0
    finally:
        store.close()
        for node in nodes:
            node.kill()
    # What the dead node held when it died was taken over by the others once its lease ran out.
    assert orphaned and dict(taken_over) == {"delivered": len(orphaned)}

    # The receiver's own records: every (partner, story) arrived; a path that arrived more than once came
    # with the same bytes under the same idempotency key (the killed node's in-flight work, sent again).
    # A request the kill cut off mid-body is recorded as far as it came; a receiver discards it (its body is
    # shorter than its Content-Length), so only complete requests count.
    complete = [r for r in http_receiver.requests
                if "/items/" in r.path and len(r.body) == int(r.header("Content-Length") or 0)]
    seen: dict[str, set[tuple[bytes, str | None]]] = defaultdict(set)
    for r in complete:
        seen[r.path].add((r.body, r.header("Idempotency-Key")))
    expected = {f"/p{p}/items/s{i:03}/v1.xml" for p in range(PARTNERS) for i in range(STORIES)}
    assert set(seen) == expected
    assert all(len(copies) == 1 for copies in seen.values()), [p for p, c in seen.items() if len(c) > 1][:5]
    per_partner = Counter(path.split("/")[1] for path in seen)
    assert per_partner == {f"p{p}": ledger[f"p{p}"] for p in range(PARTNERS)}  # receiver and ledger agree
    repeats = len(complete) - len(seen)
    print(f"killed after {killed_at} deliveries holding {len(orphaned)}; {repeats} re-sends of the same bytes "
          "under the same key")

    # The work was shared: the survivors delivered, and so did the victim before it died.
    delivered_by = Counter()
    for index, node in enumerate(nodes):
        delivered_by[index] = sum(1 for e in node.lines() if e.get("msg") == "delivered")
    assert sum(1 for n in delivered_by.values() if n) >= 2, delivered_by
    assert delivered_by[1] + delivered_by[2] > 0
    print(f"deliveries per node {dict(delivered_by)}")
