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


class Killed(BaseException):
    """The process's death at one exact line, which a unit test cannot cause otherwise (tests/test_crash.py
    kills real pushes at random moments, and found this one: seed 20261125)."""


def test_a_push_killed_between_building_the_feeds_and_admitting_them_builds_them_again(tmp_path, story_doc,
                                                                                       monkeypatch):
    """Before: the mark 'feeds built as of release N' was written before the feeds' rows reached the ledger;
    killed in between, every later push saw nothing new and the partner never got the feed."""
    from wirepub.feeds import Feeds
    from wirepub.publisher import Publisher
    from wirepub.reports import PushReport

    ws = Workspace(tmp_path, {"partners": [{"name": "p", "formats": ["rss"], "destinations": ["public"]}]})
    ws.drop("a.json", story_doc(id="a"))

    def dies(batch: object, row: NewDelivery) -> None:
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(Feeds, "admit", staticmethod(dies))
        try:
            Publisher(ws.config, ws.store, clock=ws.clock).collect(PushReport())
        except Killed:
            pass
        else:
            raise AssertionError("the feeds were never admitted, so the kill never came")
    report = ws.push()                                          # the next run, in a new process
    assert report.ok, report
    assert b"wirepub.example:a</guid>" in ws.read("feeds/rss.xml")
    ws.store.close()


def test_a_copy_superseded_in_the_hands_of_a_process_that_died_does_not_hold_the_newer_one_back(tmp_path,
                                                                                                scripted):  # noqa: F811
    """Before: giving back a dead process's leases left those on superseded copies, and the newer copy of the
    path waited for them to run out (daemon.lease, a minute): the crash test's last pushes left feeds undelivered."""
    from wirepub.feeds import Feeds
    from wirepub.queues import release_orphaned_leases

    ws = workspace_with(tmp_path, **one_partner(formats=("rss",)))
    now = ws.clock.now()
    with ws.store.ledger.batch(now) as b:
        Feeds.admit(b, feed_row(ws, b"<rss>old</rss>"))
    [old] = ws.store.ledger.claim("push-killed", now, lease_seconds=60)     # in flight when its push was killed
    with ws.store.ledger.batch(now) as b:
        Feeds.admit(b, feed_row(ws, b"<rss>new</rss>"))                     # the next push supersedes it
    assert release_orphaned_leases(ws.store, "push-killed", now) == ["push-killed"]
    [new] = ws.store.ledger.claim("next-push", now, lease_seconds=60)        # goes at once
    assert new.id != old.id and ws.store.ledger.document_body(new.sha256) == b"<rss>new</rss>"
    ws.store.close()
