"""Health tells the truth, and a broken partner stays one partner's problem (issue 10, items 8 and 9)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from wirepub.config import build_config
from wirepub.daemon import Daemon
from wirepub.store import Store
from wirepub_testkit.daemon import Running, drop_atomically
from wirepub_testkit.waiting import wait_until

STORY = {"id": "s", "headline": "Harbour fire", "body": "<p>B</p>", "version_created": "2026-11-25T10:00:00Z"}


def daemon_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREPUB_")}
    env.pop("PARTNER_SECRET", None)
    return env


def test_an_unset_secret_disables_that_partner_only_and_says_so(tmp_path):
    """Before: one unset variable made every collect of `wirepub run` fail with a traceback, while /healthz
    answered 200 and nothing was delivered to anyone."""
    (tmp_path / "stories").mkdir()
    (tmp_path / "wirepub.toml").write_text(
        '[daemon]\nlisten = "127.0.0.1:0"\ninterval = 0.5\n\n'
        '[[partners]]\nname = "good"\ndestinations = ["public"]\nformats = ["newsml-g2"]\n\n'
        '[[partners]]\nname = "broken"\nformats = ["newsml-g2"]\n'
        '[[partners.destinations]]\nurl = "https://127.0.0.1:9/in"\nsecret_env = "PARTNER_SECRET"\n')
    daemon = Running(tmp_path, daemon_env(tmp_path))
    try:
        drop_atomically(tmp_path / "stories", "s.json", STORY)
        wait_until(lambda: (tmp_path / "public/items/s/v1.xml").is_file(), "the good partner's delivery")
        status, body = daemon.get("/api/status")
        partners = {p["partner"]: p for p in json.loads(body)["partners"]}
        assert partners["broken"]["problem"] == "misconfigured"
        assert "PARTNER_SECRET" in partners["broken"]["misconfigured"]
        assert partners["broken"]["pending"] == 1                # waiting, not lost
        metrics = daemon.get("/metrics")[1].decode()
        assert 'wirepub_partner_misconfigured{partner="broken"} 1.0' in metrics
        assert 'wirepub_partner_misconfigured{partner="good"} 0.0' in metrics
        assert daemon.get("/healthz")[0] == 200                 # the node itself is fine
        wait_until(lambda: sum(e.get("msg") == "collected" for e in daemon.lines()) >= 1, "a collect")
    finally:
        daemon.terminate()
    said = [e for e in daemon.lines() if e.get("msg", "").startswith("partner misconfigured")]
    assert len(said) == 1 and said[0]["partner"] == "broken"   # logged once, not at every poll
    assert not any("Traceback" in e.get("msg", "") or "exception" in e for e in daemon.lines())


def test_healthz_is_503_while_collects_keep_failing_and_the_page_says_why(tmp_path):
    """Before: with the hot folder gone, every collect failed and /healthz still said ok."""
    stories = tmp_path / "stories"
    stories.mkdir()
    (tmp_path / "wirepub.toml").write_text('[daemon]\nlisten = "127.0.0.1:0"\ninterval = 0.3\nwatch = false\n')
    daemon = Running(tmp_path, daemon_env(tmp_path))
    try:
        wait_until(lambda: daemon.get("/healthz")[0] == 200, "healthy at first")
        shutil.rmtree(stories)
        wait_until(lambda: daemon.get("/healthz")[0] == 503, "unhealthy once collects keep failing")
        facts = json.loads(daemon.get("/healthz")[1])
        assert "does not exist" in facts["collect"]
        page = daemon.get("/")[1].decode()
        assert "Collecting stories fails" in page and "does not exist" in page
        stories.mkdir()
        wait_until(lambda: daemon.get("/healthz")[0] == 200, "healthy again once a collect succeeds")
        assert "Collecting stories fails" not in daemon.get("/")[1].decode()
    finally:
        daemon.terminate()


def test_healthz_is_503_when_the_deliverer_thread_has_died(tmp_path, monkeypatch):
    config = build_config({"daemon": {"listen": "127.0.0.1:0"}}, base_dir=tmp_path, path=None)
    (tmp_path / "stories").mkdir()
    daemon = Daemon(config)
    daemon.store = Store(config.store_url)

    def broken() -> None:
        raise RuntimeError("a bug in the delivery loop")

    daemon._start_thread("deliverer", broken)
    daemon._threads[0].join(5)
    ok, facts = daemon.health()
    assert not ok and facts["status"] == "unhealthy" and facts["threads_stopped"] == ["wirepub-deliverer"]
    daemon.store.close()
