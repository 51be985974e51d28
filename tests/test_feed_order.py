"""A partner is never left holding an older feed while the ledger says it has the newest (issue 10, item 6):
at most one copy of a feed path is in flight; a copy superseded by a newer one is never sent afterwards,
not even by `wirepub retry --dead`."""

from __future__ import annotations

from datetime import timedelta

from conftest import Workspace
from test_ledger import one_partner, scripted, workspace_with  # noqa: F401 (the scripted transport fixture)
from wirepub.delivery import Deliverer
from wirepub.store import NewDelivery
from wirepub.transports import DeliveryError
from wirepub.vocabulary import DeliveryKind


def feed_row(ws: Workspace, body: bytes) -> NewDelivery:
    import hashlib

    return NewDelivery("p", "scripted://partner", "feeds/rss.xml", "rss", DeliveryKind.FEED, "application/rss+xml",
                       body, hashlib.sha256(body).hexdigest())


def test_while_a_copy_is_in_flight_the_newer_one_waits(tmp_path, scripted):  # noqa: F811
    from wirepub.feeds import Feeds

    ws = workspace_with(tmp_path, **one_partner(formats=("rss",)))
    with ws.store.ledger.batch(ws.clock.now()) as b:
        Feeds.admit(b, feed_row(ws, b"<rss>old</rss>"))
    [old] = ws.store.ledger.claim("node-a", ws.clock.now(), lease_seconds=60)          # in flight at node a
    with ws.store.ledger.batch(ws.clock.now()) as b:
        Feeds.admit(b, feed_row(ws, b"<rss>new</rss>"))                                 # the newer copy arrives
    assert ws.store.ledger.claim("node-b", ws.clock.now(), lease_seconds=60) == []      # ... and waits
    assert not ws.store.ledger.is_open(old.id)                                          # old one superseded
    from wirepub.store import Outcome
    from wirepub.vocabulary import DeliveryState

    ws.store.ledger.finish([Outcome(old.id, DeliveryState.DELIVERED, ws.clock.now())], "node-a")
    [new] = ws.store.ledger.claim("node-b", ws.clock.now(), lease_seconds=60)           # now it may go
    assert ws.store.ledger.document_body(new.sha256) == b"<rss>new</rss>"
    ws.store.close()


def test_a_copy_superseded_after_it_was_claimed_is_not_sent(tmp_path, scripted):  # noqa: F811
    from wirepub.feeds import Feeds

    ws = workspace_with(tmp_path, **one_partner(formats=("rss",)))
    with ws.store.ledger.batch(ws.clock.now()) as b:
        Feeds.admit(b, feed_row(ws, b"<rss>old</rss>"))
    deliverer = Deliverer(ws.config, ws.store, ws.clock, node="n")
    [old] = ws.store.ledger.claim("n", ws.clock.now(), lease_seconds=60)
    with ws.store.ledger.batch(ws.clock.now()) as b:
        Feeds.admit(b, feed_row(ws, b"<rss>new</rss>"))
    outcome = deliverer._attempt(old, {})                    # its turn comes after the newer copy arrived
    assert outcome.state == "superseded" and scripted.seen == []
    ws.store.close()


def test_retry_dead_never_sends_an_older_feed_over_a_newer_one(tmp_path, scripted, story_doc):  # noqa: F811
    """Before: `wirepub retry --dead` overwrote the newer feed with the dead older one."""
    ws = workspace_with(tmp_path, **one_partner(formats=("rss",), max_attempts=1))
    scripted.script = [DeliveryError("refused", retryable=False)]
    ws.drop("a.json", story_doc(id="a"))
    assert len(ws.push().dead) == 1                                      # the first feed copy is dead
    ws.drop("b.json", story_doc(id="b", version_created="2026-11-25T10:05:00Z",
                                first_created="2026-11-25T10:05:00Z"))
    ws.clock.set(ws.clock.now() + timedelta(minutes=1))
    assert ws.push().ok                                                  # the newer copy is delivered
    assert ws.store.ledger.requeue(now=ws.clock.now(), include_dead=True) == 0
    ws.push()
    last = [p for p in scripted.seen if p.path == "feeds/rss.xml"][-1]
    assert b"urn:newsml:wirepub.example:b" in last.data                  # the partner keeps the newest
    ws.store.close()
