"""The delivery ledger: retries with backoff, dead letters, Retry-After, idempotency keys, filters, kills
and superseded feeds; on SQLite and on a real PostgreSQL. Time is a FixedClock: nothing here sleeps."""

from __future__ import annotations

import dataclasses
import random
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import Workspace
from wirepub.delivery import backoff
from wirepub.partners import DeliveryPolicy
from wirepub.store import SCHEMA_VERSION, Store
from wirepub.transports import TRANSPORTS, DeliveryError, Destination, Put


class Scripted:
    """A transport that answers from a script. A unit-test double, on purpose: these tests pin the retry
    policy, which must not depend on how a real server happens to fail; the real transports are tested
    against real servers in test_transport_*.py."""

    script: list[Exception | None] = []
    seen: list[Put] = []

    def __init__(self, destination: Destination, *, base_dir: Path, clock: Any = None) -> None:
        self.url = destination.url
        self.location = destination.url

    def put(self, doc: Put) -> None:
        Scripted.seen.append(doc)
        outcome = Scripted.script.pop(0) if Scripted.script else None
        if outcome is not None:
            raise outcome

    def delete(self, path: str) -> None:
        pass

    def probe(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> type[Scripted]:
    monkeypatch.setitem(TRANSPORTS, "scripted", f"{__name__}:Scripted")
    Scripted.script, Scripted.seen = [], []
    return Scripted


def workspace_with(tmp_path: Path, url: str | None = None, **raw: Any) -> Workspace:
    ws = Workspace(tmp_path, raw)
    if url:
        ws.store.close()
        ws.config = dataclasses.replace(ws.config, store_url=url)
        ws.store = Store(url)
    return ws


def one_partner(dest: str = "scripted://partner", formats: tuple[str, ...] = ("newsml-g2",), **delivery: Any):
    return {"partners": [{"name": "p", "destinations": [dest], "formats": list(formats)}],
            "delivery": {"base_delay": 10, "max_delay": 100, **delivery}}


def test_backoff_doubles_with_jitter_and_is_capped():
    policy = DeliveryPolicy(base_delay=2, max_delay=60)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 60), (20, 60)]:
        delays = [backoff(attempt, policy, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempt, min(delays), max(delays))
        assert max(delays) - min(delays) > ceiling / 4  # really jittered


def test_retried_with_growing_delays_then_dead_then_retried_by_hand(tmp_path, scripted, store_url):
    ws = workspace_with(tmp_path, store_url, **one_partner(max_attempts=3))
    scripted.script = [DeliveryError("down", retryable=True)] * 3
    ws.drop("a.json", {"id": "a", "headline": "H", "body": "B", "version_created": "2026-11-25T10:00:00Z"})
    assert len(ws.push().retrying) == 1
    [row] = ws.store.reads.status(ws.clock.now())
    assert row["failed"] == 1 and row["last_error"].endswith("down")
    first_retry = ws.store.ledger.next_attempt()
    assert timedelta(seconds=5) <= first_retry - ws.clock.now() <= timedelta(seconds=10)

    ws.clock.set(first_retry - timedelta(seconds=1))
    assert ws.push().retrying == []          # not due yet: not attempted
    assert len(scripted.seen) == 1
    ws.clock.set(first_retry)
    assert len(ws.push().retrying) == 1      # second attempt
    second_retry = ws.store.ledger.next_attempt()
    assert timedelta(seconds=10) <= second_retry - ws.clock.now() <= timedelta(seconds=20)
    ws.clock.set(second_retry)
    dead = ws.push().dead                    # third attempt was the last
    assert len(dead) == 1 and "gave up after 3 attempts" in dead[0]
    assert ws.store.reads.status(ws.clock.now())[0]["dead"] == 1
    assert len({p.idempotency_key for p in scripted.seen}) == 1  # every attempt, the same key

    assert ws.store.ledger.requeue(now=ws.clock.now(), include_dead=True) == 1
    report = ws.push()
    assert report.ok and report.written == 1
    assert ws.store.reads.status(ws.clock.now())[0]["delivered"] == 1
    ws.store.close()


def test_a_refusal_is_dead_at_once_and_retry_after_is_honoured(tmp_path, scripted):
    ws = workspace_with(tmp_path, **one_partner())
    scripted.script = [DeliveryError("404 Not Found", retryable=False),
                       DeliveryError("429 Too Many Requests", retryable=True, retry_after=120)]
    ws.drop("a.json", {"id": "a", "headline": "H", "body": "B", "version_created": "2026-11-25T10:00:00Z"})
    ws.drop("b.json", {"id": "b", "headline": "H", "body": "C", "version_created": "2026-11-25T10:01:00Z"})
    report = ws.push()
    assert len(report.dead) == 1 and "not retryable" in report.dead[0] and "404" in report.dead[0]
    assert len(report.retrying) == 1
    assert ws.store.ledger.next_attempt() - ws.clock.now() == timedelta(seconds=120)
    ws.store.close()


def test_too_old_is_dead_whatever_the_attempts(tmp_path, scripted):
    ws = workspace_with(tmp_path, **one_partner(max_age=60, max_attempts=100))
    scripted.script = [DeliveryError("down", retryable=True)] * 10
    ws.drop("a.json", {"id": "a", "headline": "H", "body": "B", "version_created": "2026-11-25T10:00:00Z"})
    ws.push()
    ws.clock.set(ws.clock.now() + timedelta(seconds=61))
    report = ws.push()
    assert len(report.dead) == 1 and "older than max_age" in report.dead[0]
    ws.store.close()


def test_filters_choose_what_each_partner_gets_in_items_and_feeds(tmp_path, story_doc, store_url):
    ws = workspace_with(tmp_path, store_url, partners=[
        {"name": "war", "destinations": ["war"], "filter": {"any_subjects": ["medtop:16000000"]}},
        {"name": "arabic-urgent", "destinations": ["ar"], "filter": {"languages": ["ar"], "max_urgency": 3}},
        {"name": "all", "destinations": ["all"]}])
    ws.drop("w.json", story_doc(id="w", subjects=[{"name": "war", "code": "medtop:16000000"}]))
    ws.drop("a.json", story_doc(id="a", language="ar", urgency=2))
    ws.drop("slow.json", story_doc(id="slow", language="ar-EG", urgency=6))
    assert ws.push().ok
    items = {name: sorted(p.name for p in (tmp_path / name / "items").iterdir()) for name in ("war", "ar", "all")}
    assert items == {"war": ["w"], "ar": ["a"], "all": ["a", "slow", "w"]}
    assert b"urn:newsml:wirepub.example:w" in (tmp_path / "war/feeds/rss.xml").read_bytes()
    assert b"urn:newsml:wirepub.example:a" not in (tmp_path / "war/feeds/rss.xml").read_bytes()
    ws.store.close()


def test_a_kill_goes_only_to_partners_that_had_the_story(tmp_path, story_doc, store_url):
    ws = workspace_with(tmp_path, store_url, partners=[
        {"name": "en", "destinations": ["en"], "filter": {"languages": ["en"]}},
        {"name": "fr", "destinations": ["fr"], "filter": {"languages": ["fr"]}}])
    ws.drop("s.json", story_doc(id="s"))
    ws.push()
    ws.drop("kill.json", story_doc(id="s", version=2, status="withdrawn", language="fr",
                                   version_created="2026-11-25T11:00:00Z"))
    assert ws.push().ok
    assert (tmp_path / "en/items/s/v2.xml").is_file()
    assert not (tmp_path / "fr/items").exists()
    ws.store.close()


def test_while_a_partner_is_down_only_its_newest_feed_is_delivered(tmp_path, scripted, story_doc):
    ws = workspace_with(tmp_path, **one_partner(formats=("rss",)))
    scripted.script = [DeliveryError("down", retryable=True)]
    ws.drop("a.json", story_doc(id="a"))
    ws.push()
    ws.drop("b.json", story_doc(id="b", version_created="2026-11-25T10:05:00Z",
                                first_created="2026-11-25T10:05:00Z"))
    ws.clock.set(ws.clock.now() + timedelta(minutes=10))
    assert ws.push().ok
    delivered = [p for p in scripted.seen if p.path == "feeds/rss.xml"]
    assert len(delivered) == 2  # the failed first feed, then only the newest one
    assert b"urn:newsml:wirepub.example:b" in delivered[-1].data
    assert ws.store.reads.status(ws.clock.now())[0]["superseded"] == 1
    ws.store.close()


def test_resend_delivers_the_same_bytes_again(tmp_path, scripted, story_doc):
    ws = workspace_with(tmp_path, **one_partner())
    ws.drop("a.json", story_doc(id="a"))
    ws.push()
    assert ws.store.ledger.resend("a", now=ws.clock.now()) == 1
    ws.push()
    assert len(scripted.seen) == 2 and scripted.seen[0] == scripted.seen[1]
    ws.store.close()


def test_a_version_1_store_upgrades_itself(tmp_path):
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as c:
        c.executescript("""
            CREATE TABLE wirepub_meta (key VARCHAR(64) PRIMARY KEY, value VARCHAR(256) NOT NULL);
            INSERT INTO wirepub_meta VALUES ('schema_version', '1');
            CREATE TABLE deliveries (id INTEGER PRIMARY KEY, partner VARCHAR(128) NOT NULL, destination TEXT NOT NULL,
                path TEXT NOT NULL, format VARCHAR(32) NOT NULL, story_id VARCHAR(128), version INTEGER,
                sha256 VARCHAR(64) NOT NULL, state VARCHAR(16) NOT NULL, delivered_at DATETIME,
                CONSTRAINT uq_delivery_document UNIQUE (partner, destination, path, sha256));
            INSERT INTO deliveries VALUES (1, 'p', 'public', 'items/a/v1.xml', 'newsml-g2', 'a', 1, 'x',
                'delivered', '2026-11-01 10:00:00');
        """)
    store = Store(f"sqlite:///{db}")
    assert store.ledger.delivered(partner="p", destination="public", path="items/a/v1.xml")
    assert store.ledger.received("p", "a")
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT value FROM wirepub_meta").fetchone() == (str(SCHEMA_VERSION),)
        columns = {row[1] for row in c.execute("PRAGMA table_info(deliveries)")}
    assert {"attempts", "next_attempt_at", "last_error", "kind", "created_at"} <= columns
    store.close()
    Store(f"sqlite:///{db}").close()  # opening again changes nothing


def test_a_store_newer_than_wirepub_is_refused(tmp_path):
    from wirepub.errors import ConfigError

    url = f"sqlite:///{tmp_path}/new.db"
    Store(url).close()
    with sqlite3.connect(tmp_path / "new.db") as c:
        c.execute("UPDATE wirepub_meta SET value = '99'")
    with pytest.raises(ConfigError, match="newer than this wirepub"):
        Store(url)


def test_a_kill_notice_replacing_an_earlier_item_reaches_the_transport_as_an_item(tmp_path, scripted, story_doc):
    """The replacement of items/s/v1.xml after a kill is an item document: S3 must store it with the items'
    Cache-Control and HTTP must say X-Wirepub-Kind: item. (It used to reach the transport as a feed.)"""
    ws = workspace_with(tmp_path, **one_partner())
    ws.drop("s.json", story_doc(id="s"))
    ws.push()
    ws.drop("kill.json", story_doc(id="s", version=2, status="withdrawn", version_created="2026-11-25T11:00:00Z"))
    assert ws.push().ok
    by_path = {p.path: p for p in scripted.seen}
    assert set(by_path) == {"items/s/v1.xml", "items/s/v2.xml"}
    replaced = [p for p in scripted.seen if p.path == "items/s/v1.xml"][-1]
    assert b"stat:canceled" in replaced.data       # it is the kill notice ...
    assert replaced.kind == "item"                 # ... and it travels as an item, not as a feed
    assert all(p.kind == "item" for p in scripted.seen)
    ws.store.close()


def test_replaced_feed_copies_are_forgotten_after_their_retention_and_items_never(tmp_path, story_doc):
    """The ledger used to keep two full feeds per release for ever (issue 13, item 5)."""
    ws = workspace_with(tmp_path, store={"feed_retention": 60})
    for i in range(4):
        ws.drop(f"s{i}.json", story_doc(id=f"s{i}", version_created=f"2026-11-25T10:0{i}:00Z",
                                        first_created=f"2026-11-25T10:0{i}:00Z"))
        assert ws.push().ok
        ws.clock.set(ws.clock.now() + timedelta(minutes=30))
    import sqlalchemy as sa

    from wirepub.store import deliveries, documents

    def bodies() -> int:
        with ws.store.engine.connect() as c:
            return int(c.execute(sa.select(sa.func.count()).select_from(documents)).scalar_one())

    rows_before, before = ws.store.reads.counts()["deliveries"], bodies()
    ws.clock.set(ws.clock.now() + timedelta(hours=2))
    ws.drop("s9.json", story_doc(id="s9", version_created="2026-11-25T13:00:00Z", first_created="2026-11-25T13:00:00Z"))
    assert ws.push().ok                                    # the push prunes (at most once an hour)
    assert ws.store.reads.counts()["deliveries"] == rows_before + 3     # every row stays ...
    assert bodies() < before + 3                                        # ... old feed copies' bytes go
    with ws.store.engine.connect() as c:
        items = c.execute(sa.select(deliveries.c.sha256).where(deliveries.c.kind == "item")).scalars().all()
        kept = set(c.execute(sa.select(documents.c.sha256)).scalars())
    assert set(items) <= kept                                           # items' bytes are never forgotten
    assert ws.store.ledger.resend("s0", now=ws.clock.now()) == 1 and ws.push().ok   # resendable, byte for byte
    assert ws.store.upkeep.size_bytes() > 0
    ws.store.close()
