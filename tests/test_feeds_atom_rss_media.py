"""Atom 1.0 (item 2), pictures in feeds (item 3), extensible profiles (item 4), updates in feeds (item 8),
per-partner channels (item 7): read back by feedparser, checked by the RFC's RELAX NG and the W3C Feed
Validator's own checker (../shared/tools/feedcheck)."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from formats_helpers import NOW, feed, feedcheck, story
from wirepub.errors import DocumentInvalid
from wirepub.formats import get_format
from wirepub.validate import Validator

PICTURE = {"url": "https://img.example/fire.jpg", "type": "image/jpeg", "width": 1200, "height": 800, "size": 123456,
           "caption": "The quay at dawn", "credit": "Photo: A. Lens", "alt": "Smoke over the quay",
           "renditions": [{"name": "thumbnail", "url": "https://img.example/fire-t.jpg", "width": 120, "height": 80}]}
CORRECTED = {"version": 2, "version_created": "2026-11-25T11:30:00Z", "correction": "Spelling of the port."}


def stories():
    return [story(**CORRECTED, media=[PICTURE], authors=[{"name": "A. Writer"}],
                  subjects=[{"name": "Disasters", "code": "medtop:03000000"}]),
            story(id="other", headline="Second story of the morning, with a longer title",
                  body="<p>Plain.</p>", version_created="2026-11-25T09:00:00Z", first_created="2026-11-25T09:00:00Z")]


def test_atom_entries_as_a_reader_sees_them(tmp_path: Path):
    data = feed("atom", stories()).documents[0].data
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.bozo_exception
    first = parsed.entries[0]
    assert first.id == "urn:newsml:wirepub.example:harbour-fire"
    assert first.updated == "2026-11-25T11:30:00+00:00" and first.published == "2026-11-25T10:00:00+00:00"
    assert first.author == "A. Writer" and first.summary == 'One & two. "Three".'
    assert first.content[0].type == "application/xhtml+xml" and "<p>One &amp; two.</p>" in first.content[0].value
    assert [t.term for t in first.tags] == ["Disasters"]
    assert first.link == "https://news.example/harbour-fire"
    enclosure = next(link for link in first.links if link.rel == "enclosure")
    assert enclosure.href == PICTURE["url"] and enclosure.length == "123456"
    assert first.media_content[0]["url"] == PICTURE["url"] and first.media_thumbnail[0]["url"].endswith("-t.jpg")
    assert parsed.feed.links[0].rel == "self"
    assert "valid" in feedcheck(tmp_path, "atom.xml", data)


def test_atom_is_checked_against_rfc_4287s_relax_ng():
    rng = Path(__file__).resolve().parents[2] / "shared/standards/atom/atom-rfc4287.rng"
    if not rng.exists():
        pytest.skip(f"{rng} is absent")
    data = feed("atom", stories()).documents[0].data
    checker = Validator({"atom": rng})
    checker.check(data, get_format("atom"), story="t", standard_only=True)
    broken = data.replace(b"<updated>", b"<updated>not a date", 1)
    with pytest.raises(DocumentInvalid):
        checker.check(broken, get_format("atom"), story="t", standard_only=True)


def test_rss_carries_pictures_updates_and_stays_w3c_clean(tmp_path: Path):
    data = feed("rss", stories()).documents[0].data
    parsed = feedparser.parse(data)
    first = parsed.entries[0]
    assert first.enclosures[0].href == PICTURE["url"] and first.enclosures[0].length == "123456"
    assert first.media_content[0]["width"] == "1200" and first.media_credit[0]["content"] == "Photo: A. Lens"
    assert first.media_thumbnail[0]["url"] == "https://img.example/fire-t.jpg"
    assert b"<dcterms:modified>2026-11-25T11:30:00+00:00</dcterms:modified>" in data
    assert "valid" in feedcheck(tmp_path, "rss.xml", data)


def test_jsonfeed_carries_the_picture_and_the_modified_date():
    doc = json.loads(feed("jsonfeed", stories()).documents[0].data)
    first = doc["items"][0]
    assert first["image"] == PICTURE["url"] and first["attachments"][0]["size_in_bytes"] == 123456
    assert first["date_modified"] == "2026-11-25T11:30:00+00:00"
    assert first["date_published"] == "2026-11-25T10:00:00+00:00"


def test_an_embargoed_storys_date_is_its_release_time():
    s = story(embargo="2026-11-25T11:00:00Z")
    doc = json.loads(feed("jsonfeed", [s]).documents[0].data)
    assert doc["items"][0]["date_published"] == doc["items"][0]["date_modified"] == "2026-11-25T11:00:00+00:00"
    assert b"<pubDate>Wed, 25 Nov 2026 11:00:00 +0000</pubDate>" in feed("rss", [s]).documents[0].data


def test_a_summary_never_glues_paragraphs():
    assert story().teaser == 'One & two. "Three".'
    assert story(body="<p>near Rafina.</p><p>\"We'll stay out\"</p>").teaser == "near Rafina. \"We'll stay out\""


def test_a_partner_template_may_add_elements_of_other_namespaces(tmp_path: Path):
    own = tmp_path / "rss.xml.j2"
    own.write_text('{% extends "rss-2.0.xml.j2" %}\n{% block namespaces %} xmlns:x="urn:example:x"{% endblock %}\n'
                   '{% block channel_extra %}    <x:brand>Ours</x:brand>\n{% endblock %}\n'
                   '{% block item_extra %}      <x:score>7</x:score>\n{% endblock %}\n')
    result = feed("rss", stories(), {"partners": [{"name": "p", "destinations": ["x"],
                                                   "templates": {"rss": str(own)}}]})
    assert b"<x:score>7</x:score>" in result.documents[0].data


def test_a_template_that_breaks_the_core_profile_says_which_element_and_why(tmp_path: Path):
    own = tmp_path / "rss.xml.j2"
    own.write_text('{% extends "rss-2.0.xml.j2" %}\n{% block item_extra %}      <bogus>7</bogus>\n{% endblock %}\n')
    with pytest.raises(DocumentInvalid, match="bogus.*not expected"):
        feed("rss", stories(), {"partners": [{"name": "p", "destinations": ["x"], "templates": {"rss": str(own)}}]})


def test_each_partners_channel_and_each_copys_self_link(tmp_path: Path):
    raw = {"channel": {"title": "Global"}, "partners": [{
        "name": "p", "formats": ["rss", "atom"],
        "channel": {"title": "For P", "description": "P's wire", "language": "fr", "logo": "https://p.example/l.png",
                    "max_items": 1, "link": "https://p.example/"},
        "channels": {"atom": {"title": "For P, in Atom"}},
        "destinations": [{"url": "s3://bucket/p", "public_url": "https://cdn.p.example/"},
                         {"url": "ftp://ftp.p.example/in", "public_url": "https://ftp-mirror.p.example/in/"}]}]}
    rss = feed("rss", stories(), raw)
    assert len(rss.documents) == 2   # one copy per public address
    selves = []
    for doc in rss.documents:
        root = etree.fromstring(doc.data)
        channel = root.find("channel")
        assert channel.findtext("title") == "For P" and channel.findtext("language") == "fr"
        assert channel.findtext("image/url") == "https://p.example/l.png"
        selves.append(channel.find("{http://www.w3.org/2005/Atom}link").get("href"))
    assert selves == ["https://cdn.p.example/feeds/rss.xml", "https://ftp-mirror.p.example/in/feeds/rss.xml"]
    for doc, url in zip(rss.documents, selves, strict=True):
        assert "valid" in feedcheck(tmp_path, Path(url).name, doc.data, url=url)
    atom = feedparser.parse(feed("atom", stories(), raw).documents[0].data)
    assert atom.feed.title == "For P, in Atom"


def test_the_feed_max_items_is_per_partner(tmp_path: Path):
    from wirepub.config import build_config

    config = build_config({"partners": [{"name": "p", "destinations": ["x"], "channel": {"max_items": 3}}]},
                          base_dir=tmp_path, path=None)
    assert config.partners[0].channel_for("rss", config.channel).max_items == 3
    assert NOW  # the shared clock of these tests
