"""Templates are what a newsroom changes without code: a running wirepub picks up an edited template at its
next render, and a partner may replace the kill notice and the correction line like any template. Notices
are plain text, escaped once, by the format that carries them."""

from __future__ import annotations

import os
from pathlib import Path

from lxml import etree

from conftest import REPO, Workspace

NS = {"n": "http://iptc.org/std/nar/2006-10-01/"}


def story(story_id: str, minute: int, **fields: object) -> dict[str, object]:
    return {"id": story_id, "headline": f"Story {story_id}", "body": "<p>Text.</p>",
            "version_created": f"2026-11-25T10:{minute:02d}:00Z", **fields}


def test_an_edited_partner_template_is_used_at_the_next_render_without_a_restart(tmp_path):
    mine = tmp_path / "rss.xml.j2"
    mine.write_text((REPO / "templates/rss-2.0.xml.j2").read_text().replace(
        "<generator>wirepub {{ generator_version }}</generator>", "<generator>desk edition 1</generator>"))
    ws = Workspace(tmp_path, {"partners": [{"name": "p", "destinations": ["public"], "formats": ["rss"],
                                             "templates": {"rss": str(mine)}}]})
    ws.drop("a.json", story("a", 0))
    assert ws.push().ok
    assert b"desk edition 1" in ws.read("feeds/rss.xml")
    mine.write_text(mine.read_text().replace("desk edition 1", "desk edition 2"))
    later = mine.stat().st_mtime + 2
    os.utime(mine, (later, later))   # a new modification time, however coarse the file system's clock
    ws.drop("b.json", story("b", 5))
    assert ws.push().ok
    assert b"desk edition 2" in ws.read("feeds/rss.xml")
    ws.store.close()


def test_a_partner_kill_notice_and_correction_line_of_its_own_escaped_once(tmp_path):
    notices = {}
    for name, text in (("kill-notice", "WITHDRAWN by the desk: {{ headline }}. {{ note }}"),
                       ("correction", "Corrected ({{ story_id }} v{{ version }}): {{ note }}")):
        notices[name] = tmp_path / f"{name}.txt.j2"
        notices[name].write_text(text)
    ws = Workspace(tmp_path, {"partners": [
        {"name": "own", "destinations": ["own"], "formats": ["newsml-g2"],
         "templates": {k: str(v) for k, v in notices.items()}},
        {"name": "plain", "destinations": ["plain"], "formats": ["newsml-g2"]}]})
    ws.drop("a.json", story("a", 0))
    ws.push()
    ws.drop("a2.json", story("a", 5, version=2, correction="The manager's name & title were wrong."))
    assert ws.push().ok

    def notes(partner: str, version: int) -> list[str]:
        doc = etree.parse(str(tmp_path / partner / f"items/a/v{version}.xml"))
        return [n.text or "" for n in doc.findall(".//n:edNote", NS)]

    assert notes("own", 2) == ["Corrected (a v2): The manager's name & title were wrong."]
    corrected = notes("plain", 2)
    ws.drop("a3.json", story("a", 9, version=3, status="withdrawn", withdrawal_note="The manager's statement."))
    assert ws.push().ok
    assert notes("own", 3) == ["WITHDRAWN by the desk: Story a. The manager's statement."]
    assert notes("plain", 3)[0].startswith("KILL: Story a (story a) has been withdrawn")
    assert all("&#39;" not in n and "&amp;" not in n for n in corrected + notes("plain", 3))
    body = etree.parse(str(tmp_path / "own/items/a/v3.xml")).find(".//{http://www.w3.org/1999/xhtml}p")
    assert body is not None and body.text == "WITHDRAWN by the desk: Story a. The manager's statement."
    ws.store.close()


def test_the_shipped_notices_are_plain_text_templates():
    for name in ("kill-notice.txt.j2", "correction.txt.j2"):
        assert (Path(REPO) / "templates" / name).is_file()
