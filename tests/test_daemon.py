"""The daemon's promises. Embargo, schedule and kill timing with an injected clock (no sleeping); then the
real `wirepub run` in its own process, against a real HTTP receiver, moto's S3 server and a folder."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from conftest import Workspace
from wirepub.config import build_config
from wirepub.daemon import Daemon
from wirepub.delivery import Deliverer
from wirepub.publisher import Publisher
from wirepub.store import Store
from wirepub_testkit.daemon import Running, drop_atomically
from wirepub_testkit.servers.s3 import admin_client
from wirepub_testkit.waiting import WAIT_SECONDS, wait_until

NAR = "{http://iptc.org/std/nar/2006-10-01/}"
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def workspace_with(tmp_path: Path, partners: list[dict[str, Any]], **raw: Any) -> Workspace:
    return Workspace(tmp_path, {"partners": partners, **raw})


def folder(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "destinations": [name], **extra}


def guids(path: Path, fmt: str) -> list[str]:
    if not path.exists():
        return []
    if fmt == "rss":
        return [g.text for g in etree.parse(str(path)).getroot().iter("guid")]
    return [i["id"] for i in json.loads(path.read_text())["items"]]


def pub_status(path: Path) -> str:
    return etree.parse(str(path)).getroot().find(f"{NAR}itemMeta/{NAR}pubStatus").get("qcode")


# --- embargoes, to the second, with an injected clock -----------------------------------------------------

def test_the_daemon_arms_a_job_at_the_embargo_second_and_the_collect_then_releases(tmp_path, story_doc):
    ws = workspace_with(tmp_path, [folder("a")])
    embargo = T0 + timedelta(minutes=5, seconds=7)
    dropped = ws.drop("e.json", story_doc(id="e", embargo=embargo.isoformat()))
    a_minute_ago = ws.clock.now().timestamp() - 60
    os.utime(dropped, (a_minute_ago, a_minute_ago))  # written and closed a minute ago, by the daemon's clock
    daemon = Daemon(ws.config, clock=ws.clock)
    daemon.store, daemon.publisher = ws.store, Publisher(ws.config, ws.store, clock=ws.clock)
    daemon.scheduler.start(paused=True)
    try:
        report = daemon.collect_once()
        assert report.released == [] and [h[0] for h in report.held] == ["e"]
        assert daemon.scheduler.get_job("embargo").next_run_time == embargo

        ws.clock.set(embargo - timedelta(seconds=1))
        assert daemon.collect_once().released == []
        assert not (tmp_path / "a/items/e").exists()

        ws.clock.set(embargo)
        assert daemon.collect_once().released == [("e", 1)]
        assert daemon.scheduler.get_job("embargo") is None  # nothing else is held
        Deliverer(ws.config, ws.store, ws.clock, node="test").run(daemon.publisher.bodies)
        assert (tmp_path / "a/items/e/v1.xml").is_file()
    finally:
        daemon.scheduler.shutdown(wait=False)


def test_a_partner_trusted_with_embargoes_gets_the_item_at_once_and_never_twice(tmp_path, story_doc):
    ws = workspace_with(tmp_path, [folder("trusted", embargo="send-with-embargo"), folder("other")])
    embargo = T0 + timedelta(hours=1)
    ws.drop("e.json", story_doc(id="e", embargo=embargo.isoformat()))
    ws.push()
    early = tmp_path / "trusted/items/e/v1.xml"
    assert early.is_file()
    item = etree.parse(str(early)).getroot()
    assert item.find(f"{NAR}itemMeta/{NAR}embargoed").text == embargo.isoformat()
    assert "urn:newsml:wirepub.example:e" not in guids(tmp_path / "trusted/feeds/rss.xml", "rss")  # feeds wait
    assert not (tmp_path / "other/items/e").exists()
    first = early.read_bytes()

    ws.clock.set(embargo)
    report = ws.push()
    assert report.ok and report.released == [("e", 1)]
    assert (tmp_path / "other/items/e/v1.xml").read_bytes() == first  # the same document for everyone
    assert early.read_bytes() == first
    status = {r["partner"]: r for r in ws.store.reads.status(ws.clock.now())}
    assert status["trusted"]["delivered"] == 1 + 2 * 2  # one item; two feeds delivered twice (empty, then with e)
    assert "urn:newsml:wirepub.example:e" in guids(tmp_path / "trusted/feeds/rss.xml", "rss")


def test_a_partner_schedule_holds_its_documents_until_its_cron_time(tmp_path, story_doc):
    ws = workspace_with(tmp_path, [folder("hourly", schedule="0 * * * *", formats=["newsml-g2"]),
                                   folder("now", formats=["newsml-g2"])])
    ws.clock.set(T0 + timedelta(minutes=10))
    ws.drop("s.json", story_doc(id="s"))
    ws.push()
    assert (tmp_path / "now/items/s/v1.xml").is_file()
    assert not (tmp_path / "hourly/items/s/v1.xml").exists()

    ws.clock.set(T0 + timedelta(minutes=59, seconds=59))
    ws.push()
    assert not (tmp_path / "hourly/items/s/v1.xml").exists()

    ws.clock.set(T0 + timedelta(hours=1))
    assert ws.push().written == 1
    assert (tmp_path / "hourly/items/s/v1.xml").is_file()


def test_a_bad_cron_expression_is_a_config_error_naming_the_key(tmp_path):
    from wirepub.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        build_config({"partners": [folder("p", schedule="every hour")]}, base_dir=tmp_path, path=None)
    assert "partners.0.schedule" in str(caught.value)


# --- kills ------------------------------------------------------------------------------------------------

def test_a_kill_reaches_the_partners_that_had_the_story_and_only_them(tmp_path, story_doc):
    ws = workspace_with(tmp_path, [
        folder("deleting", on_kill="delete"),
        folder("replacing", on_kill="replace"),
        folder("keeping", on_kill="keep"),
        folder("french", filter={"languages": ["fr"]}),   # never had the story
    ])
    ws.drop("k1.json", story_doc(id="k", version=1))
    assert ws.push().ok
    for name in ("deleting", "replacing", "keeping"):
        assert "urn:newsml:wirepub.example:k" in guids(tmp_path / name / "feeds/rss.xml", "rss")
    original = (tmp_path / "keeping/items/k/v1.xml").read_bytes()

    ws.clock.set(T0 + timedelta(minutes=5))
    ws.drop("k2.json", story_doc(id="k", version=2, status="withdrawn", withdrawal_note="Legal advice.",
                                 version_created="2026-11-25T12:05:00Z"))
    report = ws.push()
    assert report.ok, (report.failures, report.dead)

    for name in ("deleting", "replacing", "keeping"):
        kill = tmp_path / name / "items/k/v2.xml"
        assert pub_status(kill) == "stat:canceled"
        assert "Legal advice." in kill.read_text()
        # The feeds keep the item, under the same id, as the kill notice (on_kill_feed = "notice", the default)
        assert "urn:newsml:wirepub.example:k" in guids(tmp_path / name / "feeds/rss.xml", "rss")
        assert "urn:newsml:wirepub.example:k" in guids(tmp_path / name / "feeds/jsonfeed.json", "jsonfeed")
        assert "WITHDRAWN: " in (tmp_path / name / "feeds/rss.xml").read_text()
    assert not (tmp_path / "deleting/items/k/v1.xml").exists()
    assert (tmp_path / "replacing/items/k/v1.xml").read_bytes() == (tmp_path / "replacing/items/k/v2.xml").read_bytes()
    assert (tmp_path / "keeping/items/k/v1.xml").read_bytes() == original
    assert not (tmp_path / "french/items/k").exists()
    assert ws.store.ledger.received("french", "k") is False
    assert "urn:newsml:wirepub.example:k" not in guids(tmp_path / "french/feeds/rss.xml", "rss")


def test_a_kill_deletes_the_earlier_item_objects_in_s3(tmp_path, story_doc, s3_server, s3_bucket):
    ws = workspace_with(tmp_path, [{"name": "bucket", "formats": ["newsml-g2"], "on_kill": "delete",
                                    "destinations": [{"url": f"s3://{s3_bucket}/wire", "endpoint_url": s3_server}]}])
    ws.drop("k1.json", story_doc(id="k", version=1))
    assert ws.push().ok
    s3 = admin_client(s3_server)
    keys = lambda: sorted(o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket).get("Contents", []))  # noqa: E731
    assert keys() == ["wire/items/k/v1.xml"]

    ws.drop("k2.json", story_doc(id="k", version=2, status="withdrawn", version_created="2026-11-25T12:05:00Z"))
    report = ws.push()
    assert report.ok, (report.failures, report.dead)
    assert keys() == ["wire/items/k/v2.xml"]
    body = s3.get_object(Bucket=s3_bucket, Key="wire/items/k/v2.xml")["Body"].read()
    assert b"stat:canceled" in body


# --- files still being written ----------------------------------------------------------------------------

def test_a_file_still_being_written_is_left_for_the_next_look_not_rejected(tmp_path):
    ws = workspace_with(tmp_path, [folder("a")])
    half = ws.drop("half.json", '{"id": "h", "headline": "Half a')
    publisher = Publisher(ws.config, ws.store, clock=ws.clock)
    from wirepub.reports import PushReport

    os.utime(half, (ws.clock.now().timestamp(), ws.clock.now().timestamp()))  # written just now, by the clock
    report = PushReport()
    publisher.collect(report, settle=60.0)
    assert report.rejected == [] and half.exists()
    report = PushReport()
    publisher.collect(report, settle=60.0, settled={str(half)})  # the watch saw it closed: judged now, but ...
    assert report.rejected == [] and half.exists()               # ... JSON that stops short, written just now,
    long_ago = ws.clock.now().timestamp() - 3600                 # is looked at again (issue 10, item 3);
    os.utime(half, (long_ago, long_ago))
    report = PushReport()
    publisher.collect(report, settle=60.0, settled={str(half)})  # left alone that long, it is judged
    assert [Path(r.ref).name for r in report.rejected] == ["half.json"]


# --- the real daemon, in its own process ------------------------------------------------------------------

def test_the_daemon_delivers_survives_sigterm_mid_batch_and_resumes(tmp_path, story_doc, http_receiver,  # noqa: F811
                                                                     s3_server, s3_bucket, aws_env):  # noqa: F811
    (tmp_path / "stories").mkdir()
    (tmp_path / "wirepub.toml").write_text(f"""
[daemon]
listen = "127.0.0.1:0"
interval = 600         # far longer than any wait here: every pick-up below comes from the watch
shutdown_grace = 10

[[partners]]
name = "push"
formats = ["newsml-g2", "rss"]
destinations = ["{http_receiver.url}/in"]

[[partners]]
name = "bucket"
formats = ["newsml-g2"]
destinations = [{{ url = "s3://{s3_bucket}/wire", endpoint_url = "{s3_server}" }}]

[[partners]]
name = "folder"
destinations = ["public"]
""", encoding="utf-8")
    env = {**os.environ, **aws_env}
    env.pop("WIREPUB_CONFIG", None)
    env.pop("WIREPUB_STORE_URL", None)
    stories = tmp_path / "stories"
    item_paths = lambda: {r.header("X-Wirepub-Path") for r in http_receiver.requests  # noqa: E731
                          if (r.header("X-Wirepub-Path") or "").startswith("items/")}

    daemon = Running(tmp_path, env)
    try:
        drop_atomically(stories, "first.json", story_doc(id="first"))
        wait_until(lambda: "items/first/v1.xml" in item_paths(), "the watched story at the receiver")
        outside = tmp_path / "export" / "moved.json"   # a CMS that writes elsewhere and moves the file in
        outside.parent.mkdir()
        outside.write_text(json.dumps(story_doc(id="moved")), encoding="utf-8")
        os.rename(outside, stories / "moved.json")
        wait_until(lambda: "items/moved/v1.xml" in item_paths(), "the story moved in from another folder")
        (stories / "broken.json").write_text("{ not json", encoding="utf-8")
        for i in range(40):
            drop_atomically(stories, f"s{i:02}.json", story_doc(id=f"s{i:02}"))
        wait_until(lambda: len(item_paths()) >= 5, "some of the batch delivered")
        assert daemon.terminate() == 0
    finally:
        daemon.kill()
    stopped = [e for e in daemon.lines() if e.get("msg") in ("stopping", "stopped")]
    assert [e["msg"] for e in stopped] == ["stopping", "stopped"]

    again = Running(tmp_path, env)
    try:
        expected = {"items/first/v1.xml", "items/moved/v1.xml"} | {f"items/s{i:02}/v1.xml" for i in range(40)}
        wait_until(lambda: item_paths() >= expected, "every story at the receiver after the restart")
        s3 = admin_client(s3_server)

        def in_bucket() -> set[str]:
            objects = s3.list_objects_v2(Bucket=s3_bucket, Prefix="wire/").get("Contents", [])
            return {o["Key"].removeprefix("wire/") for o in objects}

        wait_until(lambda: in_bucket() >= expected, "every story in the bucket")
        wait_until(lambda: all((tmp_path / "public" / p).is_file() for p in expected), "every story in the folder")
        assert (stories / "rejected/broken.json").is_file()
        assert "broken.json" in (stories / "rejected/broken.json.error.txt").read_text()

        status, body = again.get("/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, metrics = again.get("/metrics")
        assert status == 200
        assert b'wirepub_deliveries{partner="push",state="delivered"}' in metrics
        assert b"wirepub_delivery_latency_seconds_bucket" in metrics
        assert again.terminate() == 0
    finally:
        again.kill()

    # From the receiver's own records: every path got one body, and any repeat was the same bytes and key.
    seen: dict[str, tuple[bytes, str | None]] = {}
    for r in http_receiver.requests:
        path = r.header("X-Wirepub-Path")
        if path in seen and path.startswith("items/"):
            assert seen[path] == (r.body, r.header("Idempotency-Key")), f"{path} arrived twice, differently"
        seen[path] = (r.body, r.header("Idempotency-Key"))
    store = Store(f"sqlite:///{tmp_path}/.wirepub/wirepub.db")
    try:
        rows = {r["partner"]: r for r in store.reads.status(datetime.now(UTC))}
    finally:
        store.close()
    for partner in ("push", "bucket", "folder"):
        assert rows[partner]["pending"] == rows[partner]["failed"] == rows[partner]["dead"] == 0, rows[partner]


def test_a_file_written_just_before_a_start_is_read_once_settled_not_at_the_next_whole_look(tmp_path, story_doc):
    """A restart in the middle of a drop: the daemon's first look at the whole folder finds a file changed in
    the last settle seconds and leaves it. It is looked at again once still, not at the next whole look (ten
    minutes on), which is where it used to wait (seen by CI: the sigterm test above, one run in three)."""
    (tmp_path / "wirepub.toml").write_text("""
[daemon]
listen = "127.0.0.1:0"
interval = 600
rescan = 600

[source]
settle = 2

[[partners]]
name = "folder"
formats = ["newsml-g2"]
destinations = ["public"]
""", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("WIREPUB_CONFIG", "WIREPUB_STORE_URL")}
    (tmp_path / "stories").mkdir()
    drop_atomically(tmp_path / "stories", "young.json", story_doc(id="young"))   # mtime: now
    daemon = Running(tmp_path, env)
    try:
        wait_until(lambda: (tmp_path / "public/items/young/v1.xml").is_file(), "the young story delivered",
                   timeout=30)
        assert daemon.terminate() == 0
    finally:
        daemon.kill()


def test_run_refuses_a_status_page_open_to_the_network_without_a_token(tmp_path):
    (tmp_path / "wirepub.toml").write_text('[daemon]\nlisten = "0.0.0.0:0"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("WIREPUB_STATUS_TOKEN", "WIREPUB_CONFIG")}
    done = subprocess.run([sys.executable, "-m", "wirepub.cli", "run"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=WAIT_SECONDS)
    assert done.returncode == 2
    assert "WIREPUB_STATUS_TOKEN" in done.stderr


class TCPProxy:
    """A TCP proxy on 127.0.0.1 in front of the real PostgreSQL, so a test can take the store away (close
    every connection, refuse new ones) and bring it back, as a database restart or a network cut would."""

    def __init__(self, target: tuple[str, int]) -> None:
        import socket
        import threading

        self.target = target
        self._socket, self._threading = socket, threading
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._conns: list[Any] = []
        self._listener: Any = None
        self.up()

    def up(self) -> None:
        listener = self._socket.socket()
        listener.setsockopt(self._socket.SOL_SOCKET, self._socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: Any) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = self._socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                self._threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: Any, dst: Any) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.close()

    def down(self) -> None:
        self._listener.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(self._socket.SHUT_RDWR)
                conn.close()
        self._conns = []


def test_the_daemon_waits_out_a_store_that_goes_away_and_carries_on(tmp_path, story_doc, pg_url):
    from urllib.parse import urlsplit

    pg = urlsplit(pg_url)
    proxy = TCPProxy((pg.hostname or "127.0.0.1", pg.port or 5432))
    proxied = pg_url.replace(f"{pg.hostname}:{pg.port}", f"127.0.0.1:{proxy.port}")
    (tmp_path / "stories").mkdir()
    (tmp_path / "wirepub.toml").write_text(
        '[daemon]\nlisten = "127.0.0.1:0"\ninterval = 0.5\n\n'
        '[[partners]]\nname = "folder"\nformats = ["newsml-g2"]\ndestinations = ["public"]\n', encoding="utf-8")
    env = {**os.environ, "WIREPUB_STORE_URL": proxied}
    env.pop("WIREPUB_CONFIG", None)
    daemon = Running(tmp_path, env)
    try:
        drop_atomically(tmp_path / "stories", "before.json", story_doc(id="before"))
        wait_until(lambda: (tmp_path / "public/items/before/v1.xml").is_file(), "a story before the outage")

        proxy.down()
        wait_until(lambda: daemon.get("/healthz")[0] == 503, "health saying the store is away")
        drop_atomically(tmp_path / "stories", "during.json", story_doc(id="during"))
        wait_until(lambda: any(e.get("msg", "").startswith("store unavailable") for e in daemon.lines()),
                   "the daemon noticing the outage")
        assert daemon.proc.poll() is None

        proxy.up()
        wait_until(lambda: (tmp_path / "public/items/during/v1.xml").is_file(), "the story dropped in the outage")
        wait_until(lambda: daemon.get("/healthz")[0] == 200, "health back to ok")
        assert daemon.terminate() == 0
    finally:
        daemon.kill()
        proxy.down()
