"""WebSub (issue 12, item 9): a feed names its hubs (link rel="hub"); after each new copy of the feed is
delivered, wirepub pings each hub (hub.mode=publish, hub.url=<topic>), through the ledger, so that a hub that
is down is retried like any delivery. The hub is a real HTTP server on 127.0.0.1 that checks each request as
the W3C Recommendation and its common practice say (a form-encoded POST naming the topic) and answers 204."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs

import feedparser

from conftest import Workspace
from wirepub import app
from wirepub_testkit.servers.http import Receiver


def check_publish(hub: Receiver, topic: str) -> int:
    """How many valid publish pings for `topic` the hub had; fails on any request that is not one."""
    count = 0
    for r in hub.requests:
        assert r.method == "POST" and r.path == "/hub"
        assert r.header("Content-Type").startswith("application/x-www-form-urlencoded")
        form = parse_qs(r.body.decode())
        assert form["hub.mode"] == ["publish"] and form["hub.url"] == [topic], form
        count += 1
    return count


def test_hubs_are_named_in_the_feeds_and_pinged_after_each_new_copy(tmp_path, http_receiver):
    hub_url = f"{http_receiver.url}/hub"
    http_receiver.respond_with(204)
    ws = Workspace(tmp_path, {"channel": {"hubs": [hub_url], "public_url": "https://feeds.example/wire/"},
                              "partners": [{"name": "p", "destinations": ["public"], "formats": ["rss", "atom"]}]})
    ws.drop("a.json", {"id": "a", "headline": "First", "body": "<p>One.</p>",
                       "version_created": "2026-11-25T10:00:00Z"})
    report = ws.push()
    assert report.ok, report
    rss = feedparser.parse(ws.read("feeds/rss.xml"))
    assert {(link.rel, link.href) for link in rss.feed.links} >= {("hub", hub_url),
                                                                  ("self", "https://feeds.example/wire/feeds/rss.xml")}
    atom = feedparser.parse(ws.read("feeds/atom.atom"))
    assert ("hub", hub_url) in {(link.rel, link.href) for link in atom.feed.links}
    topics = sorted(parse_qs(r.body.decode())["hub.url"][0] for r in http_receiver.requests)
    assert topics == ["https://feeds.example/wire/feeds/atom.atom", "https://feeds.example/wire/feeds/rss.xml"]

    # Nothing changed: no new copy, no ping.
    http_receiver.clear()
    assert ws.push().ok and http_receiver.requests == []

    # A new story: a new copy of each feed, and a ping each, after the copy is delivered.
    ws.drop("b.json", {"id": "b", "headline": "Second", "body": "<p>Two.</p>",
                       "version_created": "2026-11-25T11:00:00Z"})
    assert ws.push().ok
    topics = sorted(parse_qs(r.body.decode())["hub.url"][0] for r in http_receiver.requests)
    assert topics == ["https://feeds.example/wire/feeds/atom.atom", "https://feeds.example/wire/feeds/rss.xml"]
    ws.store.close()


def test_a_hub_that_is_down_is_retried_through_the_ledger(tmp_path, http_receiver):
    hub_url = f"{http_receiver.url}/hub"
    http_receiver.respond_with(503, times=1)
    http_receiver.respond_with(204)
    ws = Workspace(tmp_path, {"channel": {"hubs": [hub_url]},
                              "partners": [{"name": "p", "destinations": ["public"], "formats": ["rss"]}]})
    ws.drop("a.json", {"id": "a", "headline": "First", "body": "<p>One.</p>",
                       "version_created": "2026-11-25T10:00:00Z"})
    report = ws.push()
    assert (ws.public / "feeds/rss.xml").is_file()
    assert len(report.retrying) == 1 and "WebSub hub" in report.retrying[0] and "503" in report.retrying[0]
    status = app.status(ws.config, clock=ws.clock)
    assert status.partners[0]["failed"] == 1
    ws.clock.set(ws.clock.now() + timedelta(minutes=20))
    again = ws.push()
    assert again.ok, again
    assert check_publish(http_receiver, "https://wirepub.example/wire/feeds/rss.xml") == 2
    ws.store.close()
