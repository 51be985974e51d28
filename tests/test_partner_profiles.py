"""Partner profiles (issue 12, item 6): SmartNews, MSN and Flipboard, each a template plus rules checked on
every feed before it goes. A test per rule, with a story that breaks it and one that keeps it; a story that
breaks a rule is held back for that partner only, the rule named in status, page and log."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import feedparser
import pytest
from click.testing import CliRunner
from lxml import etree

from conftest import Workspace
from formats_helpers import NOW, feed, story
from wirepub import app
from wirepub.errors import RenderError
from wirepub.formats.profiles import PROFILES, SMARTNEWS_MAX_BYTES
from wirepub.logs import FACTS

LONG_TITLE = "Fire in the harbour of Piraeus is out after six hours"
BIG_PICTURE = {"url": "https://img.example/fire.jpg", "type": "image/jpeg", "width": 1200, "height": 800,
               "size": 123456}


def partner(profile: str, **more: Any) -> dict[str, Any]:
    channel = {"description": "Wire news", "logo": "https://news.example/logo.png", **more.pop("channel", {})}
    return {"partners": [{"name": "p", "destinations": ["x"], "formats": ["rss"], "profile": profile,
                          "channel": channel, **more}]}


def held(profile: str, s, **more: Any) -> list[str]:
    """The rules that hold this story back from a partner with this profile."""
    result = feed("rss", [s], partner(profile, **more))
    return [h.rule for h in result.held]


# One story that breaks each rule, and one that keeps it. -------------------------------------------------
ITEM_RULES = {
    "msn.title-length": (dict(headline="Short title."), dict(headline=LONG_TITLE)),
    "msn.required": (dict(url=None), dict()),
    "msn.date": (dict(first_created="2025-11-01T10:00:00Z", version_created="2025-11-01T10:00:00Z"), dict()),
    "msn.https": (dict(url="http://news.example/fire"), dict(url="https://news.example/fire")),
    "smartnews.html-tags": (dict(body="<p>Quote <abbr title='x'>ABBR</abbr></p>"), dict(body="<p>Plain</p>")),
    "flipboard.picture": (dict(media=[{**BIG_PICTURE, "width": 300, "height": 200}]), dict(media=[BIG_PICTURE])),
}


@pytest.mark.parametrize("rule", ITEM_RULES)
def test_each_item_rule_holds_back_the_story_that_breaks_it_and_only_that(rule: str):
    profile = rule.split(".")[0]
    breaking, keeping = ITEM_RULES[rule]
    base = dict(headline=LONG_TITLE, media=[BIG_PICTURE])
    assert rule in held(profile, story(**{**base, **breaking}))
    assert held(profile, story(**{**base, **keeping})) == []


def test_msn_abstract_must_be_plain_text(tmp_path):
    own = tmp_path / "rss.xml.j2"   # only a template can put HTML in the abstract: ours escapes it
    own.write_text('{% extends "rss-msn.xml.j2" %}')
    s = story(headline=LONG_TITLE, summary="<b>Bold</b> claim")
    assert held("msn", s) == []     # our template: the summary stays text
    result = feed("rss", [s], partner("msn"))
    assert b"&amp;lt;b&amp;gt;Bold" in result.documents[0].data


def test_msn_dates_may_not_be_in_the_future():
    s = story(headline=LONG_TITLE, first_created="2026-11-25T13:00:00Z", version_created="2026-11-25T13:00:00Z")
    assert held("msn", s) == ["msn.date"]


def test_flipboard_wants_full_text_and_a_picture():
    assert "flipboard.picture" in held("flipboard", story(headline=LONG_TITLE))
    rules = {r.name for r in PROFILES["flipboard"].rules}
    assert rules == {"flipboard.full-content", "flipboard.picture"}


def test_smartnews_title_without_html():
    assert held("smartnews", story(headline="<b>Fire</b> in the harbour")) == ["smartnews.title-plain"]


def test_smartnews_document_rules_fail_the_feed_naming_the_rule():
    with pytest.raises(RenderError, match="smartnews.channel-description"):
        feed("rss", [story()], partner("smartnews", channel={"description": "A description far longer than thirty"}))
    with pytest.raises(RenderError, match="smartnews.logo"):
        feed("rss", [story()], {"partners": [{"name": "p", "destinations": ["x"], "formats": ["rss"],
                                              "profile": "smartnews", "channel": {"description": "Wire"}}]})


def test_smartnews_feed_stays_within_1_mb_by_leaving_out_the_oldest():
    body = "<p>" + "word " * 40_000 + "</p>"   # ~200 KB each
    stories = [story(id=f"s{i}", body=body, version_created=f"2026-11-25T{10 + i:02d}:00:00Z") for i in range(7)]
    stories.reverse()  # newest first, as feeds hold them
    result = feed("rss", stories, partner("smartnews"))
    data = result.documents[0].data
    assert len(data) <= SMARTNEWS_MAX_BYTES
    assert {h.rule for h in result.held} == {"smartnews.file-size"}
    went = [h.story_id for h in result.held]
    assert went == [f"s{i}" for i in range(len(went))] and 0 < len(went) < 7   # the oldest went, the newest stay


def test_smartnews_template_writes_snf_logo_and_thumbnails():
    data = feed("rss", [story(media=[BIG_PICTURE])], partner("smartnews")).documents[0].data
    root = etree.fromstring(data)
    assert root.find("channel/{http://www.smartnews.be/snf}logo/url").text == "https://news.example/logo.png"
    assert root.find("channel/item/{http://search.yahoo.com/mrss/}thumbnail").get("url") == BIG_PICTURE["url"]
    assert feedparser.parse(data).entries[0].media_thumbnail


def test_a_profile_needs_its_format():
    from wirepub.config import build_config
    from wirepub.errors import ConfigError

    with pytest.raises(ConfigError, match="partners.0.profile"):
        build_config({"partners": [{"name": "p", "destinations": ["x"], "formats": ["atom"], "profile": "msn"}]},
                     base_dir=NOW and __import__("pathlib").Path("."), path=None)


def test_held_back_for_that_partner_only_named_in_status_page_and_log(tmp_path, caplog):
    ws = Workspace(tmp_path, {"partners": [
        {"name": "msn", "destinations": ["msn-out"], "formats": ["rss"], "profile": "msn"},
        {"name": "plain", "destinations": ["public"], "formats": ["rss"]}]})
    ws.drop("short.json", {"id": "short", "headline": "Twelve chars", "body": "<p>Text.</p>",
                           "url": "https://news.example/short", "version_created": "2026-11-25T10:00:00Z"})
    ws.drop("long.json", {"id": "long", "headline": LONG_TITLE, "body": "<p>Text.</p>",
                          "url": "https://news.example/long", "version_created": "2026-11-25T10:00:00Z"})
    with caplog.at_level(logging.WARNING, logger="wirepub.feeds"):
        report = ws.push()
    assert report.ok, report
    msn = feedparser.parse((tmp_path / "msn-out/feeds/rss.xml").read_bytes())
    plain = feedparser.parse(ws.read("feeds/rss.xml"))
    assert [e.id for e in msn.entries] == ["urn:newsml:wirepub.example:long"]
    assert sorted(e.id for e in plain.entries) == ["urn:newsml:wirepub.example:long",
                                                   "urn:newsml:wirepub.example:short"]
    assert any("msn.title-length" in w for w in report.warnings)
    line = next(r for r in caplog.records if r.getMessage().startswith("held back"))
    said = getattr(line, FACTS)
    assert said["rule"] == "msn.title-length" and said["story"] == "short" and said["partner"] == "msn"
    status = app.status(ws.config, clock=ws.clock)
    assert [(h["partner"], h["story_id"], h["rule"]) for h in status.held_back] == [("msn", "short",
                                                                                     "msn.title-length")]
    page = tmp_path / "page.html"
    app.write_status_page(ws.config, page, clock=ws.clock)
    html = page.read_text()
    assert 'id="held-back"' in html and 'data-story="short"' in html and "msn.title-length" in html

    # Fixed: a new version with a longer headline leaves the record, and MSN gets it.
    ws.clock.set(datetime(2026, 11, 25, 12, 5, tzinfo=UTC))
    ws.drop("short-2.json", {"id": "short", "version": 2, "headline": LONG_TITLE + " (2)", "body": "<p>Text.</p>",
                             "url": "https://news.example/short", "version_created": "2026-11-25T12:01:00Z"})
    assert ws.push().ok
    assert app.status(ws.config, clock=ws.clock).held_back == []
    assert len(feedparser.parse((tmp_path / "msn-out/feeds/rss.xml").read_bytes()).entries) == 2
    ws.store.close()


def test_wirepub_status_names_the_rule(tmp_path):
    ws = Workspace(tmp_path, {"partners": [{"name": "msn", "destinations": ["public"], "formats": ["rss"],
                                             "profile": "msn"}]})
    ws.drop("short.json", {"id": "short", "headline": "Twelve chars", "body": "<p>Text.</p>",
                           "url": "https://news.example/short", "version_created": "2026-11-25T10:00:00Z"})
    ws.push()
    config = tmp_path / "wirepub.toml"
    config.write_text('[source]\npath = "stories"\n[[partners]]\nname = "msn"\ndestinations = ["public"]\n'
                      'formats = ["rss"]\nprofile = "msn"\n')
    from wirepub.cli import main

    result = CliRunner().invoke(main, ["--config", str(config), "status"])
    assert "held back from msn (rss): short v1 breaks msn.title-length" in result.output, result.output
    ws.store.close()
