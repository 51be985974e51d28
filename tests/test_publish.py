"""The flow through the publisher: intake, embargo, versions, kills, feeds, idempotence, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lxml import etree

from conftest import Workspace
from wirepub.config import build_config
from wirepub.store import Store

NAR = "{http://iptc.org/std/nar/2006-10-01/}"


def rss_guids(ws: Workspace) -> list[str]:
    root = etree.fromstring(ws.read("feeds/rss.xml"))
    return [g.text for g in root.iter("guid")]


def jsonfeed(ws: Workspace) -> dict:
    return json.loads(ws.read("feeds/jsonfeed.json"))


def test_push_writes_every_format_and_a_rerun_writes_nothing(workspace, story_doc):
    workspace.drop("a.json", story_doc(id="a"))
    report = workspace.push()
    assert report.ok, report.failures
    assert report.released == [("a", 1)]
    assert (workspace.public / "items/a/v1.xml").is_file()
    assert rss_guids(workspace) == ["urn:newsml:wirepub.example:a"]
    assert [i["id"] for i in jsonfeed(workspace)["items"]] == ["urn:newsml:wirepub.example:a"]
    assert report.written == 3   # newsml-g2, rss, jsonfeed: what a partner without formats takes

    again = workspace.push()
    assert again.ok and again.released == [] and again.written == 0 and again.unchanged == 1


def test_embargoed_story_goes_nowhere_before_its_time_then_everywhere(workspace, story_doc):
    workspace.drop("e.json", story_doc(id="e", embargo="2026-11-25T13:00:00+00:00"))
    report = workspace.push()
    assert report.released == [] and [h[0] for h in report.held] == ["e"]
    assert not (workspace.public / "items/e").exists()
    assert "urn:newsml:wirepub.example:e" not in rss_guids(workspace)

    workspace.clock.set(datetime(2026, 11, 25, 12, 59, 59, tzinfo=UTC))
    assert workspace.push().released == []

    workspace.clock.set(datetime(2026, 11, 25, 13, 0, 0, tzinfo=UTC))
    released = workspace.push()
    assert released.released == [("e", 1)]
    item = etree.fromstring(workspace.read("items/e/v1.xml"))
    assert item.find(f"{NAR}itemMeta/{NAR}embargoed").text == "2026-11-25T13:00:00+00:00"
    assert rss_guids(workspace) == ["urn:newsml:wirepub.example:e"]


def test_an_update_replaces_its_feed_item_and_carries_the_signal(workspace, story_doc):
    workspace.drop("s.json", story_doc(id="s", version=1))
    workspace.drop("other.json", story_doc(id="other", version_created="2026-11-25T10:30:00Z",
                                           first_created="2026-11-25T10:30:00Z"))
    workspace.push()
    before = {i["id"]: i for i in jsonfeed(workspace)["items"]}

    workspace.drop("s2.json", story_doc(id="s", version=2, headline="Updated", correction="Fixes a name.",
                                        version_created="2026-11-25T11:00:00Z"))
    report = workspace.push()
    assert report.released == [("s", 2)]
    items = jsonfeed(workspace)["items"]
    assert [i["id"] for i in items] == ["urn:newsml:wirepub.example:s", "urn:newsml:wirepub.example:other"]
    assert items[0]["title"] == "Updated"
    assert items[0]["date_modified"] != before["urn:newsml:wirepub.example:s"]["date_modified"]
    assert items[0]["date_published"] == before["urn:newsml:wirepub.example:s"]["date_published"]
    assert rss_guids(workspace).count("urn:newsml:wirepub.example:s") == 1
    v2 = etree.fromstring(workspace.read("items/s/v2.xml"))
    assert v2.get("version") == "2"
    assert v2.find(f"{NAR}itemMeta/{NAR}signal").get("qcode") == "sig:correction"
    assert "Fixes a name." in v2.find(f"{NAR}itemMeta/{NAR}edNote").text
    assert (workspace.public / "items/s/v1.xml").is_file()


def test_versionless_story_edited_becomes_next_version_and_identical_content_sends_nothing(
        workspace, story_doc):
    path = workspace.drop("n.json", story_doc(id="n", version_created=None, first_created=None))
    assert workspace.push().released == [("n", 1)]
    assert workspace.push().released == []          # same file, same content
    path.write_text(json.dumps(story_doc(id="n", headline="Edited", version_created=None, first_created=None)))
    report = workspace.push()
    assert report.released == [("n", 2)]
    v1 = etree.fromstring(workspace.read("items/n/v1.xml"))
    v2 = etree.fromstring(workspace.read("items/n/v2.xml"))
    first = f"{NAR}itemMeta/{NAR}firstCreated"
    assert v1.find(first).text == v2.find(first).text


def test_a_kill_reaches_partners_that_had_the_story_and_its_notice_leaves_the_feeds_later(workspace, story_doc):
    workspace.drop("k.json", story_doc(id="k"))
    workspace.drop("stay.json", story_doc(id="stay"))
    workspace.push()
    assert "urn:newsml:wirepub.example:k" in rss_guids(workspace)

    workspace.drop("k-kill.json", story_doc(id="k", version=2, status="withdrawn",
                                            withdrawal_note="Legal reasons.",
                                            version_created="2026-11-25T11:00:00Z"))
    report = workspace.push()
    assert report.released == [("k", 2)]
    kill = etree.fromstring(workspace.read("items/k/v2.xml"))
    assert kill.find(f"{NAR}itemMeta/{NAR}pubStatus").get("qcode") == "stat:canceled"
    assert "Legal reasons." in kill.find(f"{NAR}itemMeta/{NAR}edNote").text
    assert "First paragraph" not in workspace.read("items/k/v2.xml").decode()
    # on_kill_feed = "notice" (the default): the item stays, same id, as the notice, for kill_notice_hours
    ids = ["urn:newsml:wirepub.example:k", "urn:newsml:wirepub.example:stay"]
    assert rss_guids(workspace) == ids
    notice = jsonfeed(workspace)["items"][0]
    assert [i["id"] for i in jsonfeed(workspace)["items"]] == ids
    assert "First paragraph" not in notice["content_html"] and "Legal reasons." in notice["content_html"]
    workspace.clock.set(datetime(2026, 11, 27, 12, 0, 1, tzinfo=UTC))   # 48 hours after the kill, and a second
    workspace.push()
    assert rss_guids(workspace) == ["urn:newsml:wirepub.example:stay"]
    assert [i["id"] for i in jsonfeed(workspace)["items"]] == ["urn:newsml:wirepub.example:stay"]


def test_on_kill_feed_drop_takes_the_item_out_at_once(tmp_path, story_doc):
    ws = Workspace(tmp_path, {"partners": [{"name": "p", "destinations": ["public"], "formats": ["rss"],
                                             "on_kill_feed": "drop"}]})
    ws.drop("k.json", story_doc(id="k"))
    ws.push()
    ws.drop("k-kill.json", story_doc(id="k", version=2, status="withdrawn", version_created="2026-11-25T11:00:00Z"))
    ws.push()
    assert rss_guids(ws) == []
    ws.store.close()


def test_a_story_killed_before_release_never_goes_out(workspace, story_doc):
    workspace.drop("h.json", story_doc(id="h", embargo="2026-11-25T13:00:00Z"))
    workspace.push()
    workspace.drop("h-kill.json", story_doc(id="h", version=2, status="withdrawn",
                                            version_created="2026-11-25T11:00:00Z"))
    workspace.push()
    workspace.clock.set(datetime(2026, 11, 25, 14, 0, tzinfo=UTC))
    workspace.push()
    assert not (workspace.public / "items/h").exists()


def test_feed_holds_the_latest_n_newest_first(tmp_path, story_doc):
    ws = Workspace(tmp_path, {"channel": {"max_items": 3}})
    start = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    for i in range(5):
        t = (start + timedelta(minutes=i)).isoformat()
        ws.drop(f"s{i}.json", story_doc(id=f"s{i}", first_created=t, version_created=t))
    assert ws.push().ok
    assert rss_guids(ws) == [f"urn:newsml:wirepub.example:s{i}" for i in (4, 3, 2)]
    ws.store.close()


def test_bad_files_are_set_aside_with_reasons_and_the_rest_publishes(workspace, story_doc):
    good = workspace.drop("good.json", story_doc(id="good"))
    bad = {
        "broken.json": b'{"id": "x", "headline": ',
        "no-headline.json": story_doc(id="nh", headline=None),
        "bad-embargo.json": story_doc(id="be", embargo="2026-11-26 06:00"),
        "latin1.json": json.dumps(story_doc(id="l1", headline="café"), ensure_ascii=False).encode("utf-8").replace(
            "é".encode(), b"\xe9"),
        "control.json": story_doc(id="cc", body="a\x01b"),
        "escape.json": story_doc(id="../../etc/passwd"),
        "huge.json": story_doc(id="huge", body="x" * (10 * 1024 * 1024)),
        "front.md": "---\nid: fm\nheadline: [unclosed\n---\nBody\n",
        "nofront.md": "Just markdown, no front matter\n",
        "dup-a.json": story_doc(id="dup", headline="One"),
        "dup-b.json": story_doc(id="dup", headline="Two"),
    }
    for name, content in bad.items():
        workspace.drop(name, content)
    report = workspace.push()
    assert report.released == [("good", 1)]
    assert sorted(Path(r.error.file).name for r in report.rejected) == sorted(bad)
    fields = {Path(r.error.file).name: r.error.field for r in report.rejected}
    assert fields["no-headline.json"] == "headline"
    assert fields["bad-embargo.json"] == "embargo"
    assert fields["control.json"] == "body"
    assert fields["escape.json"] == "id"
    assert fields["huge.json"] == "body"
    assert fields["dup-a.json"] == fields["dup-b.json"] == "version"
    assert fields["front.md"] == "front matter"
    rejected = workspace.stories / "rejected"
    for name in bad:
        assert (rejected / name).is_file(), f"{name} was not set aside"
        assert (rejected / f"{name}.error.txt").read_text().startswith(str(workspace.stories / name))
        assert not (workspace.stories / name).exists()
    assert good.exists()
    assert not report.ok


def test_a_second_file_rewriting_a_recorded_version_is_refused(workspace, story_doc):
    workspace.drop("v1.json", story_doc(id="c", version=1))
    workspace.push()
    workspace.drop("v1-again.json", story_doc(id="c", version=1, headline="Sneaky rewrite"))
    report = workspace.push()
    assert [Path(r.error.file).name for r in report.rejected] == ["v1-again.json"]
    assert b"Sneaky" not in workspace.read("items/c/v1.xml")


def test_a_broken_template_override_ships_nothing_and_names_story_format_line(tmp_path, story_doc):
    bad_template = tmp_path / "mine.xml.j2"
    bad_template.write_text(
        '<?xml version="1.0"?>\n<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="{{ guid }}">\n'
        "  <unexpected/>\n</newsItem>\n")
    ws = Workspace(tmp_path, {"partners": [
        {"name": "picky", "destinations": ["public"], "formats": ["newsml-g2"],
         "templates": {"newsml-g2": str(bad_template)}}]})
    ws.drop("t.json", story_doc(id="t"))
    report = ws.push()
    assert report.released == []
    assert len(report.failures) == 1
    failure = report.failures[0]
    assert "story t v1" in failure and "format newsml-g2" in failure and "line " in failure
    assert not (ws.public / "items/t/v1.xml").exists()
    ws.store.close()


def test_a_failing_destination_does_not_stop_other_partners_and_is_retried(tmp_path, story_doc):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")
    ws = Workspace(tmp_path, {"partners": [
        {"name": "broken", "destinations": [str(blocked)]},
        {"name": "fine", "destinations": ["public"]}]})
    ws.drop("x.json", story_doc(id="x"))
    report = ws.push()
    assert not report.ok and report.failures == [] and report.dead == []
    assert len(report.retrying) == 3 and all("partner broken" in f for f in report.retrying)
    assert (ws.public / "items/x/v1.xml").is_file()
    assert (ws.public / "feeds/rss.xml").is_file()
    assert report.released == [("x", 1)]  # in the ledger: the rest is the ledger's job
    [broken] = [p for p in ws.store.reads.status(ws.clock.now()) if p["partner"] == "broken"]
    assert broken["failed"] == 3 and "Not a directory" in broken["last_error"]

    blocked.unlink()
    too_soon = ws.push()  # the clock has not moved: no retry is due yet
    assert too_soon.written == 0 and not (blocked / "items/x/v1.xml").exists()
    ws.clock.set(ws.clock.now() + timedelta(minutes=5))
    retry = ws.push()
    assert retry.ok and retry.written == 3 and (blocked / "items/x/v1.xml").is_file()
    ws.store.close()


def test_the_store_survives_a_new_process(tmp_path, story_doc):
    ws = Workspace(tmp_path)
    ws.drop("a.json", story_doc(id="a"))
    ws.push()
    ws.store.close()
    config = build_config({}, base_dir=tmp_path, path=None)
    store = Store(config.store_url)
    assert store.reads.counts()["story_versions"] == 1
    assert store.ledger.delivered(partner="local", destination="public", path="items/a/v1.xml")
    store.close()


def test_a_partners_own_template_is_used_for_that_partner_only(tmp_path, story_doc):
    from wirepub.resources import templates_dir

    mine = tmp_path / "partner-newsml.xml.j2"
    mine.write_text((templates_dir() / "newsml-g2.xml.j2").read_text().replace(
        "<headline>{{ story.headline }}</headline>", "<headline>{{ story.headline | upper }}</headline>"))
    ws = Workspace(tmp_path, {"partners": [
        {"name": "shouty", "destinations": ["shouty"], "formats": ["newsml-g2"],
         "templates": {"newsml-g2": str(mine)}},
        {"name": "plain", "destinations": ["plain"], "formats": ["newsml-g2"]}]})
    ws.drop("t.json", story_doc(id="t", headline="Quiet words"))
    assert ws.push().ok
    assert b"<headline>QUIET WORDS</headline>" in (tmp_path / "shouty/items/t/v1.xml").read_bytes()
    assert b"<headline>Quiet words</headline>" in (tmp_path / "plain/items/t/v1.xml").read_bytes()
    ws.store.close()


def test_a_partner_path_layout_places_its_documents(tmp_path, story_doc):
    ws = Workspace(tmp_path, {"partners": [{"name": "p", "destinations": ["public"], "formats": ["newsml-g2", "rss"],
                                            "paths": {"item": "{year}/{month}/{day}/{id}-v{version}.{ext}",
                                                      "feed": "wire/{format}.{ext}"}}]})
    ws.drop("a.json", story_doc(id="a", first_created="2026-03-04T10:00:00Z"))
    assert ws.push().ok
    assert (tmp_path / "public/2026/03/04/a-v1.xml").is_file()
    rss = etree.fromstring(ws.read("wire/rss.xml"))
    assert rss.find("channel/{http://www.w3.org/2005/Atom}link").get("href").endswith("/wire/rss.xml")
    ws.store.close()


def test_a_path_layout_that_would_overwrite_or_escape_is_refused(tmp_path):
    import pytest

    from wirepub.errors import ConfigError

    for paths, key, words in (({"item": "items/{id}.{ext}"}, "partners.0.paths.item", "{version}"),
                              ({"feed": "feeds/all.xml"}, "partners.0.paths.feed", "{ext} or {format}"),
                              ({"item": "../{id}/{version}.{ext}"}, "partners.0.paths.item", "'..'"),
                              ({"item": "{id}/{version}/{slug}.{ext}"}, "partners.0.paths.item", "slug")):
        with pytest.raises(ConfigError) as caught:
            build_config({"partners": [{"name": "p", "destinations": ["x"], "paths": paths}]},
                         base_dir=tmp_path, path=None)
        assert key in str(caught.value) and words in str(caught.value)
