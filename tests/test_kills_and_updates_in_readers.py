"""Feeds tell updates and kills (issue 12, item 8), as real readers see them: newsboat (Debian's, run headless)
sees the kill notice replace the story under the same id; every format carries the notice escaped exactly once,
and the notice says KILL once even when the desk's headline already did."""

from __future__ import annotations

import html
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from conftest import Workspace

NOTE = "The manager's statement & <claims> were a hoax."
NAR = "{http://iptc.org/std/nar/2006-10-01/}"


def newsboat_items(home: Path, feed: Path) -> list[tuple[str, str, str]]:
    """(guid, title, content) of every item newsboat keeps after reloading the feed, headless."""
    urls = home / "urls"
    urls.write_text(f"file://{feed}\n")
    (home / "config").write_text("")
    subprocess.run(["newsboat", "-u", str(urls), "-c", str(home / "cache.db"), "-C", str(home / "config"),
                    "-x", "reload"], check=True, timeout=60, env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
                   capture_output=True)
    with sqlite3.connect(home / "cache.db") as c:
        return c.execute("SELECT guid, title, content FROM rss_item ORDER BY guid").fetchall()


def killed(ws: Workspace) -> None:
    ws.drop("fire.json", {"id": "fire", "headline": "Fire in the harbour", "body": "<p>Original text.</p>",
                          "version_created": "2026-11-25T10:00:00Z"})
    assert ws.push().ok
    ws.drop("fire-kill.json", {"id": "fire", "version": 2, "status": "withdrawn",
                               "headline": "KILL: Fire in the harbour", "body": "Withdrawn.",
                               "withdrawal_note": NOTE, "version_created": "2026-11-25T11:00:00Z"})


@pytest.mark.skipif(shutil.which("newsboat") is None, reason="newsboat is not installed (scripts/test-services.sh)")
@pytest.mark.parametrize("fmt,path", [("rss", "feeds/rss.xml"), ("atom", "feeds/atom.atom")])
def test_newsboat_sees_the_notice_replace_the_story(tmp_path, fmt, path):
    ws = Workspace(tmp_path, {"partners": [{"name": "p", "destinations": ["public"], "formats": [fmt]}]})
    killed(ws)
    home = tmp_path / "reader"
    home.mkdir()
    [(guid, title, content)] = newsboat_items(home, ws.public / path)
    assert guid == "urn:newsml:wirepub.example:fire" and title == "Fire in the harbour"
    assert "Original text." in content
    assert ws.push().ok
    # newsboat skips a file:// feed whose modification time (whole seconds) has not moved since its last look
    later = (ws.public / path).stat().st_mtime + 60
    os.utime(ws.public / path, (later, later))
    [(guid2, title2, content2)] = newsboat_items(home, ws.public / path)
    assert guid2 == guid
    assert title2 == "WITHDRAWN: Fire in the harbour"
    assert "Original text." not in content2
    assert "The manager's statement" in content2 and "&amp;#39;" not in content2 and "&#39;" not in content2
    assert content2.count("KILL") == 1
    ws.store.close()


def test_every_format_carries_the_notice_escaped_once(tmp_path):
    ws = Workspace(tmp_path, {"partners": [{"name": "p", "destinations": ["public"], "formats": [
        "newsml-g2", "ninjs", "rss", "atom", "jsonfeed"]}]})
    killed(ws)
    assert ws.push().ok
    item = etree.fromstring(ws.read("items/fire/v2.xml"))
    notes = [n.text for n in item.iter(f"{NAR}edNote")]
    assert any(NOTE in n for n in notes) and all(n.count("KILL") == 1 for n in notes)
    ninjs = json.loads(ws.read("items/fire/v2.json"))
    assert NOTE in ninjs["bodies"][0]["value"] and NOTE in ninjs["edNote"]
    # RSS descriptions are HTML: the note is in it escaped as HTML once, so a reader shows it as it was written
    rss = feedparser.parse(ws.read("feeds/rss.xml")).entries[0]
    assert NOTE in html.unescape(rss.summary) and "&amp;amp;" not in rss.summary and "&#39;" not in rss.summary
    atom = feedparser.parse(ws.read("feeds/atom.atom")).entries[0]
    assert NOTE in html.unescape(atom.summary) and "&#39;" not in atom.summary
    feed = json.loads(ws.read("feeds/jsonfeed.json"))["items"][0]
    assert feed["summary"].count("KILL") == 1 and NOTE in feed["summary"]
    assert feed["title"] == "WITHDRAWN: Fire in the harbour"
    ws.store.close()
