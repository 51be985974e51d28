"""End to end through the installed `wirepub` command, in real processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from conftest import REPO

WIREPUB = [sys.executable, "-m", "wirepub.cli"]


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("WIREPUB_CONFIG", None) if env is None else None
    return subprocess.run([*WIREPUB, *args], cwd=cwd, capture_output=True, text=True, env=full_env,
                          timeout=120)


def test_init_then_push_publishes_the_starter_story(tmp_path):
    init = run("init", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert (tmp_path / "wirepub.toml").is_file()
    push = run("push", cwd=tmp_path)
    assert push.returncode == 0, push.stderr
    assert "1 released" in push.stdout
    assert (tmp_path / "public/items/welcome-to-wirepub/v1.xml").is_file()
    assert (tmp_path / "public/feeds/rss.xml").is_file()
    assert (tmp_path / "public/feeds/jsonfeed.json").is_file()
    assert run("init", cwd=tmp_path).returncode == 2  # never overwrites


def test_push_of_the_examples_on_embedded_defaults(tmp_path):
    stories = tmp_path / "stories"
    shutil.copytree(REPO / "examples" / "stories", stories)
    push = run("push", "--json", cwd=tmp_path)
    assert push.returncode == 0, push.stderr
    summary = json.loads(push.stdout)
    released = {(r["id"], r["version"]) for r in summary["released"]}
    assert ("2017-11-19-syria-albukamal", 1) in released
    assert ("harbour-fire", 2) in released and ("harbour-fire", 1) not in released
    assert [h["id"] for h in summary["held"]] == ["embargoed-budget-2027"]
    assert summary["rejected"] == [] and summary["failures"] == []
    rss = (tmp_path / "public/feeds/rss.xml").read_bytes()
    assert b"embargoed-budget-2027" not in rss and b"celebrity-rumour" not in rss
    again = run("push", "--json", cwd=tmp_path)
    assert json.loads(again.stdout)["documents_written"] == 0


def test_push_exits_1_and_names_the_bad_file(tmp_path):
    (tmp_path / "stories").mkdir()
    (tmp_path / "stories" / "bad.json").write_text('{"id": "x"}')
    push = run("push", cwd=tmp_path)
    assert push.returncode == 1
    assert "bad.json: headline: missing" in push.stderr
    assert (tmp_path / "stories/rejected/bad.json").is_file()


def test_bad_config_exits_2_and_names_the_key(tmp_path):
    (tmp_path / "wirepub.toml").write_text('[channel]\nmax_items = "lots"\n')
    push = run("push", cwd=tmp_path)
    assert push.returncode == 2
    assert "key channel.max_items" in push.stderr


def test_config_from_the_environment(tmp_path):
    (tmp_path / "elsewhere.toml").write_text('[source]\npath = "incoming"\n')
    (tmp_path / "incoming").mkdir()
    push = run("push", cwd=tmp_path, env={"WIREPUB_CONFIG": str(tmp_path / "elsewhere.toml")})
    assert push.returncode == 0, push.stderr
    assert "0 released" in push.stdout


@pytest.mark.parametrize("fmt,root", [("newsml-g2", "newsItem"), ("rss", "rss")])
def test_render_prints_a_valid_document(tmp_path, fmt, root):
    story = REPO / "examples/stories/2017-11-19-syria-albukamal.json"
    result = subprocess.run([*WIREPUB, "render", str(story), "--format", fmt], cwd=tmp_path,
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert etree.QName(etree.fromstring(result.stdout)).localname == root


def test_render_jsonfeed(tmp_path):
    story = REPO / "examples/stories/ar-cairo-book-fair.json"
    result = run("render", str(story), "-f", "jsonfeed", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    item = json.loads(result.stdout)["items"][0]
    assert item["language"] == "ar"
    assert "افتتح معرض القاهرة الدولي للكتاب" in item["content_html"]


def test_validate_detects_formats_and_reports_the_line(tmp_path):
    run("init", cwd=tmp_path)
    assert run("push", cwd=tmp_path).returncode == 0
    item = tmp_path / "public/items/welcome-to-wirepub/v1.xml"
    good = run("validate", str(item), str(tmp_path / "public/feeds/rss.xml"),
               str(tmp_path / "public/feeds/jsonfeed.json"), str(tmp_path / "stories/welcome-to-wirepub.md"),
               cwd=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "valid newsml-g2" in good.stdout and "valid rss" in good.stdout
    assert "valid jsonfeed" in good.stdout and "valid story" in good.stdout

    broken = tmp_path / "broken.xml"
    lines = item.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if "<pubStatus" in line)
    lines[at] = lines[at].replace("stat:usable", "stat:whatever")
    broken.write_text("\n".join(lines))
    bad = run("validate", "--json", str(broken), cwd=tmp_path)
    assert bad.returncode == 1
    [result] = json.loads(bad.stdout)
    assert result["valid"] is False and result["format"] == "newsml-g2"
    assert f"line {at + 1}" in result["error"]


def test_help_teaches():
    result = subprocess.run([*WIREPUB, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("init", "push", "render", "validate"):
        assert command in result.stdout


def test_status_retry_resend_and_partners_check(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")
    (tmp_path / "wirepub.toml").write_text(
        '[delivery]\nmax_attempts = 1\n\n'
        '[[partners]]\nname = "ok"\ndestinations = ["public"]\n\n'
        f'[[partners]]\nname = "down"\ndestinations = ["{blocked}"]\nformats = ["newsml-g2"]\n')
    (tmp_path / "stories").mkdir()
    (tmp_path / "stories/a.json").write_text(json.dumps(
        {"id": "a", "headline": "H", "body": "B", "version_created": "2026-11-25T10:00:00Z"}))
    push = run("push", cwd=tmp_path)
    assert push.returncode == 1 and "dead:" in push.stderr and "Not a directory" in push.stderr

    status = run("status", "--json", cwd=tmp_path)
    assert status.returncode == 1  # something is dead
    rows = {r["partner"]: r for r in json.loads(status.stdout)}
    assert rows["ok"]["delivered"] == 3 and rows["down"]["dead"] == 1
    assert "Not a directory" in rows["down"]["last_error"]
    assert "down" in run("status", cwd=tmp_path).stdout

    check = run("partners", "check", "--json", cwd=tmp_path)
    assert check.returncode == 1
    assert {(r["partner"], r["ok"]) for r in json.loads(check.stdout)} == {("ok", True), ("down", False)}
    assert not list((tmp_path / "public").glob(".wirepub-probe*"))
    assert "ok: newsml-g2, rss, jsonfeed" in run("partners", cwd=tmp_path).stdout

    blocked.unlink()
    assert run("retry", cwd=tmp_path).stdout.startswith("0 requeued")  # dead ones need --dead
    retried = run("retry", "--dead", "--partner", "down", cwd=tmp_path)
    assert retried.returncode == 0, retried.stderr
    assert "1 requeued; 1 delivered" in retried.stdout and (blocked / "items/a/v1.xml").is_file()
    assert run("status", cwd=tmp_path).returncode == 0

    (blocked / "items/a/v1.xml").unlink()
    resent = run("resend", "a", "--partner", "down", cwd=tmp_path)
    assert resent.returncode == 0, resent.stderr
    assert (blocked / "items/a/v1.xml").is_file()
    assert run("resend", "nope", cwd=tmp_path).returncode == 1


def test_what_users_tripped_on(tmp_path):
    """--config after the command; render by story id (as the README promises); retry and resend in JSON;
    off a terminal, stderr carries only JSON lines."""
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg/wirepub.toml").write_text('[source]\npath = "../stories"\n[[partners]]\nname = "p"\n'
                                               'destinations = ["../public"]\n')
    (tmp_path / "stories").mkdir()
    (tmp_path / "stories/a.json").write_text(json.dumps(
        {"id": "a", "headline": "Harbour fire", "body": "B", "version_created": "2026-11-25T10:00:00Z"}))
    (tmp_path / "stories/bad.json").write_text('{"id": "bad"}')
    config = str(tmp_path / "cfg/wirepub.toml")
    push = run("push", "--config", config, cwd=tmp_path, env={})
    assert push.returncode == 1 and (tmp_path / "public/items/a/v1.xml").is_file(), push.stderr
    lines = [json.loads(line) for line in push.stderr.splitlines()]     # every line is JSON ...
    assert any("bad.json: headline: missing" in e["msg"] and e["level"] == "error" for e in lines)

    rendered = run("render", "a", "-f", "rss", "--config", config, cwd=tmp_path, env={})
    assert rendered.returncode == 0, rendered.stderr
    assert b"<title>Harbour fire</title>" in rendered.stdout.encode()
    missing = run("render", "no-such-story", "-f", "rss", "--config", config, cwd=tmp_path, env={})
    assert missing.returncode == 1 and "no story with this id" in missing.stderr

    retried = run("retry", "--json", "--config", config, cwd=tmp_path, env={})
    assert json.loads(retried.stdout) == {"requeued": 0, "written": 0, "retrying": [], "dead": [], "ok": True}
    resent = run("resend", "a", "--json", "--config", config, cwd=tmp_path, env={})
    assert resent.returncode == 0 and json.loads(resent.stdout)["written"] == 1
