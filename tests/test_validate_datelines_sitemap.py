"""`wirepub validate` tells our profile from the standard (item 11); datelines in the story's language
(item 12); agencies named in full as sources (item 13); the Google News sitemap (item 5)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from lxml import etree

from formats_helpers import NOW, feed, item, story
from wirepub.cli import main
from wirepub.sources.plaintext import parse_plain_text

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def test_a_spec_valid_feed_our_profile_is_stricter_about_passes_with_a_note(tmp_path):
    rss = feed("rss", [story()]).documents[0].data.decode()
    no_language = tmp_path / "rss.xml"
    no_language.write_text(re.sub(r"\s*<language>[^<]*</language>", "", rss))
    jf = json.loads(feed("jsonfeed", [story()]).documents[0].data)
    del jf["home_page_url"]
    no_home = tmp_path / "feed.json"
    no_home.write_text(json.dumps(jf, indent=2))
    result = CliRunner().invoke(main, ["validate", str(no_language), str(no_home)])
    assert result.exit_code == 0, result.output
    assert "valid RSS 2.0 (rss); note: wirepub's profile is stricter" in result.output
    assert "valid JSON Feed 1.1 (jsonfeed); note: wirepub's profile is stricter" in result.output
    assert "story" not in result.output and "delivered" not in result.output


def test_a_document_that_breaks_the_standard_is_invalid_and_says_so_plainly(tmp_path):
    bad = tmp_path / "rss.xml"
    bad.write_text('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>')
    result = CliRunner().invoke(main, ["validate", "--json", str(bad)])
    assert result.exit_code == 1
    [found] = json.loads(result.output)
    assert found["valid"] is False and found["standard"] == "RSS 2.0"
    assert "not valid RSS 2.0: the channel has no link, description" in found["error"]
    assert "story" not in found["error"] and "delivered" not in found["error"]


def dateline(language: str, place: str, country: str | None = None) -> str:
    doc = etree.fromstring(item("newsml-g2", story(language=language, dateline={
        "place": place, **({"country": country} if country else {}), "date": "2026-11-29"})))
    return doc.findtext("{http://iptc.org/std/nar/2006-10-01/}contentMeta/{http://iptc.org/std/nar/2006-10-01/}dateline")


def test_datelines_follow_the_storys_language():
    assert dateline("ar", "عمّان", "الأردن") == "عمّان، الأردن، ٢٩ نوفمبر"
    assert dateline("ja", "東京") == "東京、11月29日"
    assert dateline("fr", "Paris", "France") == "PARIS, France, 29 novembre"
    assert dateline("en", "Deir Ezzor", "Syria") == "DEIR EZZOR, Syria, Nov 29"


def test_agencies_named_in_full_are_sources():
    text = ("Harbour fire out\n\nPIRAEUS, Greece (Wire) — The fire is out, a port official told Reuters on "
            "Monday morning after six hours of work by two hundred firefighters and the coast guard. Agence "
            "France-Presse said the ferries would sail again. According to the Associated Press, AFP reported it.")
    assert parse_plain_text(text, name="fire")["sources"] == ["Reuters", "Agence France-Presse", "Associated Press",
                                                               "AFP"]


def sitemap(stories, now=NOW, **channel):
    raw = {"channel": {"publication": "The Example Times", **channel},
           "partners": [{"name": "p", "destinations": ["x"], "formats": ["news-sitemap"]}]}
    return feed("news-sitemap", stories, raw, now=now)


def test_a_news_sitemap_names_the_articles_of_the_last_two_days():
    fresh = story(language="zh-TW", keywords=["fire", "port"])
    old = story(id="old", first_created="2026-11-22T10:00:00Z", version_created="2026-11-22T10:00:00Z")
    no_url = story(id="nourl", url=None)
    [doc] = sitemap([fresh, old, no_url]).documents
    root = etree.fromstring(doc.data)
    urls = root.findall(f"{SM}url")
    assert [u.findtext(f"{SM}loc") for u in urls] == ["https://news.example/harbour-fire"]
    news = urls[0].find(f"{NEWS}news")
    assert news.findtext(f"{NEWS}publication/{NEWS}name") == "The Example Times"
    assert news.findtext(f"{NEWS}publication/{NEWS}language") == "zh-tw"
    assert news.findtext(f"{NEWS}publication_date") == "2026-11-25T10:00:00+00:00"
    assert news.findtext(f"{NEWS}keywords") == "fire, port"


def test_beyond_1000_articles_a_sitemap_index_names_the_files():
    base = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
    many = [story(id=f"s{i}", url=f"https://news.example/s{i}",
                  version_created=(base - timedelta(seconds=i)).isoformat(),
                  first_created=(base - timedelta(seconds=i)).isoformat()) for i in range(1500)]
    docs = sitemap(many).documents
    assert [d.path for d in docs] == ["feeds/news-sitemap-1.xml", "feeds/news-sitemap-2.xml", "feeds/news-sitemap.xml"]
    assert [len(etree.fromstring(d.data).findall(f"{SM}url")) for d in docs[:2]] == [1000, 500]
    index = etree.fromstring(docs[2].data)
    assert index.tag == f"{SM}sitemapindex"
    assert [s.findtext(f"{SM}loc") for s in index] == ["https://wirepub.example/wire/feeds/news-sitemap-1.xml",
                                                       "https://wirepub.example/wire/feeds/news-sitemap-2.xml"]
