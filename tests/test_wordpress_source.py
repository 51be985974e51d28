"""The WordPress source (issue 11, item 3) against a real WordPress: Debian's package under `php -S` on the
MariaDB at 127.0.0.1 (tests skip, saying why, where those are missing). Posts are made, edited and trashed
through WordPress's own REST API, and what reaches a partner is read back from its folder."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import etree

from wirepub import app
from wirepub.cli import main
from wirepub.config import build_config
from wirepub.store import Store
from wirepub_testkit.servers.wordpress import WordPress

NAR = "{http://iptc.org/std/nar/2006-10-01/}"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def setup(tmp_path: Path, wp: WordPress, monkeypatch: pytest.MonkeyPatch, name: str | None = None,
          **options: Any) -> Any:
    monkeypatch.setenv("WP_APP_PASSWORD", wp.password)
    name = name or f"wp{uuid.uuid4().hex[:6]}"
    raw = {"sources": [{"name": name, "kind": "wordpress", "url": wp.url, "user": wp.user,
                        "password_env": "WP_APP_PASSWORD", "id_prefix": f"{name}-", **options}],
           "partners": [{"name": "out", "formats": ["newsml-g2"], "destinations": ["public"]}]}
    return build_config(raw, base_dir=tmp_path, path=None), name


def item(tmp_path: Path, story_id: str, version: int) -> etree._Element:
    return etree.parse(str(tmp_path / "public/items" / story_id / f"v{version}.xml")).getroot()


def test_posts_published_edited_and_trashed_reach_the_partner(tmp_path, wordpress, monkeypatch):
    wp = wordpress
    config, name = setup(tmp_path, wp, monkeypatch)
    politics = wp.term("categories", f"Politics {name}")
    budget = wp.term("tags", f"budget-{name}")
    picture = wp.media(f"{name}.png", PNG, "image/png", alt_text="A red square", caption="Caption here")
    post = wp.post(title="Parliament &amp; the <b>budget</b>", content="<p>Body one.</p><script>x()</script>",
                   excerpt="The lede", categories=[politics], tags=[budget], featured_media=picture)
    draft = wp.post(title="Not yet", content="<p>Draft</p>", status="draft")

    report = app.push(config)
    story_id = f"{name}-{post['id']}"
    assert (story_id, 1) in report.released and not report.rejected, report
    assert not (tmp_path / "public/items" / f"{name}-{draft['id']}").exists()
    root = item(tmp_path, story_id, 1)
    xml = etree.tostring(root, encoding="unicode")
    assert "Parliament &amp; the budget" in xml and "Body one." in xml and "x()" not in xml and "<script" not in xml
    assert "The lede" in xml and f"Politics {name}" in xml and f"budget-{name}" in xml and "admin" in xml
    assert "/wp-content/uploads/" in xml and f"{name}.png" in xml     # the featured image, as a picture

    store = Store(config.store_url)
    try:
        assert json.loads(store.cursors.get(name) or "{}")["modified_gmt"] >= post["modified_gmt"]  # kept
    finally:
        store.close()
    again = app.push(config)
    assert again.released == [] and again.new == []                  # read once: the cursor moved on

    wp.update(post["id"], content="<p>Body two, corrected.</p>")     # modified: the next version
    report = app.push(config)
    assert report.released == [(story_id, 2)], report
    assert "Body two, corrected." in etree.tostring(item(tmp_path, story_id, 2), encoding="unicode")

    wp.update(draft["id"], status="publish")                          # published later: v1 of that one
    wp.trash(post["id"])                                              # trashed: a kill to those who had it
    report = app.push(config)
    assert sorted(report.released) == sorted([(story_id, 3), (f"{name}-{draft['id']}", 1)]), report
    kill = item(tmp_path, story_id, 3)
    assert kill.find(f"{NAR}itemMeta/{NAR}pubStatus").get("qcode") == "stat:canceled"

    wp.update(post["id"], status="publish")                          # restored from the trash: published again
    report = app.push(config)
    assert report.released == [(story_id, 4)], report
    assert item(tmp_path, story_id, 4).find(f"{NAR}itemMeta/{NAR}pubStatus").get("qcode") == "stat:usable"


def test_approval_by_category_paging_and_the_cursor(tmp_path, wordpress, monkeypatch):
    wp = wordpress
    name = f"wp{uuid.uuid4().hex[:6]}"
    config, name = setup(tmp_path, wp, monkeypatch, name, categories=[f"wire-{name}"], per_page=2)
    wire = wp.term("categories", f"wire-{name}")
    other = wp.term("categories", f"other-{name}")
    ours = [wp.post(title=f"Wire {i}", content=f"<p>{i}</p>", categories=[wire]) for i in range(5)]
    theirs = wp.post(title="Not for the wire", content="<p>x</p>", categories=[other])
    report = app.push(config)
    assert sorted(report.released) == sorted((f"{name}-{p['id']}", 1) for p in ours), report
    assert not (tmp_path / "public/items" / f"{name}-{theirs['id']}").exists()
    # A post moved out of the approved category is withdrawn from the partners that had it.
    wp.update(ours[0]["id"], categories=[other])
    report = app.push(config)
    assert report.released == [(f"{name}-{ours[0]['id']}", 2)]


def test_sources_check_and_push_by_name(tmp_path, wordpress, monkeypatch):
    wp = wordpress
    config, name = setup(tmp_path, wp, monkeypatch)
    (tmp_path / "wirepub.toml").write_text(f"""
[[sources]]
name = "{name}"
kind = "wordpress"
url = "{wp.url}"
user = "{wp.user}"
password_env = "WP_APP_PASSWORD"

[[partners]]
name = "out"
formats = ["newsml-g2"]
destinations = ["public"]
""", encoding="utf-8")
    runner = CliRunner()
    env = {"WIREPUB_CONFIG": str(tmp_path / "wirepub.toml"), "WP_APP_PASSWORD": wp.password}
    listed = runner.invoke(main, ["sources"], env=env)
    assert listed.exit_code == 0 and f"{name}: wordpress" in listed.output
    checked = runner.invoke(main, ["sources", "check"], env=env)
    assert checked.exit_code == 0, checked.output
    assert "authenticated as admin" in checked.output
    wrong = runner.invoke(main, ["sources", "check", "--json"], env={**env, "WP_APP_PASSWORD": "wrong pass word"})
    assert wrong.exit_code == 1
    result = json.loads(wrong.output)[0]
    assert not result["ok"] and "refused the application password" in result["error"]
    assert "wrong pass word" not in wrong.output                        # the secret is never shown
    pushed = runner.invoke(main, ["push", "--source", name, "--json"], env=env)
    assert pushed.exit_code == 0, pushed.output
    assert {"id": "wp-1", "version": 1} in json.loads(pushed.output)["released"]   # WordPress's own Hello world!
    os.environ.pop("WP_APP_PASSWORD", None)
