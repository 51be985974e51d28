"""Our feeds through a feed reader's parser (feedparser), and the rules of the RSS Best Practices
Profile that the W3C Feed Validation Service warns about. The service itself is not reachable from here."""

from __future__ import annotations

import json
import re

import feedparser
from lxml import etree

# feedparser treats description as HTML and sanitises it: the literal '<b>' of our text survives as text.
SHOWN_SUMMARY = "Short &amp; sweet &lt;b&gt;."


def test_rss_and_json_feed_read_cleanly(workspace, story_doc):
    workspace.drop("a.json", story_doc(id="a", byline="Ann", subjects=[{"name": "war", "code": "medtop:16000000"}],
                                       url="https://news.example/a"))
    workspace.drop("b.json", story_doc(id="b", version_created="2026-11-25T11:00:00+02:00",
                                       first_created="2026-11-25T11:00:00+02:00", summary="Short & sweet <b>."))
    assert workspace.push().ok
    feed = feedparser.parse(workspace.read("feeds/rss.xml"))
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "rss20"
    ids = [e.id for e in feed.entries]
    assert ids == ["urn:newsml:wirepub.example:a", "urn:newsml:wirepub.example:b"]  # 10:00Z after 09:00Z
    a, b = feed.entries
    assert a.author == "Ann" and a.link == "https://news.example/a" and a.tags[0].term == "war"
    assert a.content[0].value == "<p>First paragraph.</p><p>Second paragraph.</p>"
    assert b.summary == SHOWN_SUMMARY
    assert a.published_parsed.tm_year == 2026

    jf = json.loads(workspace.read("feeds/jsonfeed.json"))
    assert [i["id"] for i in jf["items"]] == ids


def test_rss_follows_the_best_practices_profile(workspace, story_doc):
    workspace.drop("a.json", story_doc(id="a", body='<p>See <a href="/relative">this</a> and '
                                                       '<a href="https://e.org/x">that</a></p>'))
    assert workspace.push().ok
    raw = workspace.read("feeds/rss.xml")
    root = etree.fromstring(raw)
    channel = root.find("channel")
    self_link = channel.find("{http://www.w3.org/2005/Atom}link")
    assert self_link.get("rel") == "self" and self_link.get("href").endswith("/feeds/rss.xml")
    rfc822 = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$")
    dates = [e.text for e in root.iter("pubDate", "lastBuildDate")]
    assert dates and all(rfc822.match(d) for d in dates), dates
    item = channel.find("item")
    guid = item.find("guid")
    assert guid.get("isPermaLink") == "false" and not guid.text.startswith("http")
    encoded = item.find("{http://purl.org/rss/1.0/modules/content/}encoded").text
    assert 'href="/relative"' not in encoded  # relative links mean nothing in a reader
    assert 'href="https://e.org/x"' in encoded
    assert item.find("description").text == "See this and that"
    assert channel.find("language").text == "en"
