"""How deliveries fail, end to end: Publisher.push against real servers on 127.0.0.1 that fail on purpose
(an HTTP receiver answering 500, 429, 403, hanging or resetting; an SSH server with another host key; an S3
server without the bucket or refusing the keys). Each failure must end in the right ledger state, failed with
a next attempt or dead, and say clearly what went wrong in `wirepub status --json`. A hanging partner must not
hold the others up.

Time is a FixedClock that the tests move: nothing here waits for a retry, and no assertion is about how long
anything took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import Workspace
from wirepub_testkit.ports import free_port
from wirepub_testkit.servers.ftp import FTPServerInfo
from wirepub_testkit.servers.http import Receiver
from wirepub_testkit.servers.s3 import AuthS3
from wirepub_testkit.servers.ssh import SSHServer
from wirepub_testkit.waiting import wait_until

WIREPUB = [sys.executable, "-m", "wirepub.cli"]
STORY = {"id": "fault-1", "headline": "Harbour reopens", "body": "<p>The harbour reopened on Tuesday.</p>",
         "version_created": "2026-11-25T10:00:00Z"}
ITEM = "items/fault-1/v1.xml"
WAIT_LIMIT = 30.0   # bound on waiting for an event that a correct wirepub makes happen at once

# httpx honours the proxy variables; a proxy on the machine running the tests must not carry 127.0.0.1.
pytestmark = pytest.mark.usefixtures("no_proxies")


# ---- set-up and looking ------------------------------------------------------------------------------------

def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"


def workspace(root: Path, *partners: dict[str, Any], **delivery: Any) -> Workspace:
    """A workspace with these partners, its configuration also written to wirepub.toml for the CLI. Retries
    start at 10 s (the clock is ours to move) and only NewsML-G2 items are sent unless a partner says."""
    raw: dict[str, Any] = {
        "delivery": {"base_delay": 10, "max_delay": 100, **delivery},
        "partners": [{"formats": ["newsml-g2"], **p} for p in partners],
    }
    (root / "wirepub.toml").write_text("".join(f"{k} = {toml_value(v)}\n" for k, v in raw.items()))
    ws = Workspace(root, raw)
    ws.drop("fault-1.json", STORY)
    return ws


def status(ws: Workspace) -> dict[str, dict[str, Any]]:
    """`wirepub status --json`, per partner, as the desk sees it."""
    env = {k: v for k, v in os.environ.items() if k != "WIREPUB_CONFIG"}
    done = subprocess.run([*WIREPUB, "status", "--json"], cwd=ws.root, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return {row["partner"]: row for row in json.loads(done.stdout)}


def ledger(ws: Workspace, partner: str = "p") -> dict[str, Any]:
    return next(r for r in ws.store.reads.status(ws.clock.now()) if r["partner"] == partner)


def posts(receiver: Receiver) -> list[Any]:
    return [r for r in receiver.requests if r.method == "POST"]


def http_partner(receiver: Receiver, name: str = "p", **options: Any) -> dict[str, Any]:
    return {"name": name, "destinations": [{"url": f"{receiver.url}/ingest", **options}]}


def assert_one_failure_then_delivered(ws: Workspace, receiver: Receiver) -> None:
    """The failed delivery is not tried again before its time; at its time it is delivered, the same bytes
    under the same idempotency key."""
    retry_at = ws.store.ledger.next_attempt()
    assert retry_at is not None and retry_at > ws.clock.now()
    ws.clock.set(retry_at - timedelta(seconds=1))
    assert ws.push().written == 0
    assert len(posts(receiver)) == 1
    ws.clock.set(retry_at)
    report = ws.push()
    assert report.ok and report.written == 1, report
    first, second = posts(receiver)
    assert first.path == second.path == f"/ingest/{ITEM}"
    assert first.body == second.body
    assert first.header("Idempotency-Key") == second.header("Idempotency-Key") is not None
    row = ledger(ws)
    assert (row["delivered"], row["failed"], row["dead"], row["last_error"]) == (1, 0, 0, None)


# ---- HTTP answers ------------------------------------------------------------------------------------------

def test_a_500_fails_with_a_next_attempt_and_the_retry_delivers(tmp_path: Path, http_receiver: Receiver) -> None:
    http_receiver.respond_with(500, body="database unavailable", times=1)
    ws = workspace(tmp_path, http_partner(http_receiver))
    report = ws.push()
    assert len(report.retrying) == 1 and not report.dead
    assert "HTTP 500" in report.retrying[0] and "next attempt" in report.retrying[0]
    row = ledger(ws)
    assert (row["failed"], row["pending"], row["delivered"]) == (1, 0, 0)
    said = status(ws)["p"]["last_error"]
    assert ITEM in said and "HTTP 500 Internal Server Error: database unavailable" in said
    assert "will try again" in said
    assert_one_failure_then_delivered(ws, http_receiver)


def test_a_partner_failing_every_attempt_is_dead_after_the_last(tmp_path: Path, http_receiver: Receiver) -> None:
    http_receiver.respond_with(503, body="maintenance")
    ws = workspace(tmp_path, http_partner(http_receiver), max_attempts=3)
    for attempt in range(1, 4):
        report = ws.push()
        assert len(posts(http_receiver)) == attempt
        if attempt < 3:
            assert len(report.retrying) == 1 and ledger(ws)["failed"] == 1
            retry_at = ws.store.ledger.next_attempt()
            assert retry_at is not None
            ws.clock.set(retry_at)
    assert len(report.dead) == 1 and ws.store.ledger.next_attempt() is None
    said = status(ws)["p"]["last_error"]
    assert "HTTP 503 Service Unavailable: maintenance" in said and "gave up after 3 attempts" in said


def test_a_429_is_not_tried_again_before_its_retry_after(tmp_path: Path, http_receiver: Receiver) -> None:
    http_receiver.respond_with(429, headers={"Retry-After": "120"}, body="slow down", times=1)
    ws = workspace(tmp_path, http_partner(http_receiver), base_delay=1, max_delay=5)
    start = ws.clock.now()
    ws.push()
    assert ws.store.ledger.next_attempt() == start + timedelta(seconds=120)  # the partner's word, not our backoff
    said = status(ws)["p"]["last_error"]
    assert "HTTP 429" in said and "not before 120 s (Retry-After)" in said
    assert_one_failure_then_delivered(ws, http_receiver)


def test_a_partner_that_hangs_past_its_read_timeout_fails_and_is_retried(tmp_path: Path,
                                                                         http_receiver: Receiver) -> None:
    http_receiver.respond_with(200, hang=WAIT_LIMIT, times=1)  # answers only when the receiver stops
    ws = workspace(tmp_path, http_partner(http_receiver, read_timeout=0.5))
    report = ws.push()
    assert len(report.retrying) == 1 and not report.dead
    assert ledger(ws)["failed"] == 1
    said = status(ws)["p"]["last_error"]
    assert "no answer within read_timeout (0.5 s)" in said and "will try again" in said
    assert_one_failure_then_delivered(ws, http_receiver)


def test_a_reset_connection_fails_and_is_retried(tmp_path: Path, http_receiver: Receiver) -> None:
    http_receiver.respond_with(reset=True, times=1)
    ws = workspace(tmp_path, http_partner(http_receiver))
    report = ws.push()
    assert len(report.retrying) == 1 and not report.dead
    said = status(ws)["p"]["last_error"]
    assert f"the connection to 127.0.0.1:{http_receiver.port} failed before a complete answer" in said
    assert "will try again" in said
    assert_one_failure_then_delivered(ws, http_receiver)


def test_a_refused_connection_fails_and_is_retried(tmp_path: Path) -> None:
    port = free_port()
    ws = workspace(tmp_path, {"name": "p", "destinations": [f"http://127.0.0.1:{port}/ingest"]})
    report = ws.push()
    assert len(report.retrying) == 1 and not report.dead
    assert ledger(ws)["failed"] == 1
    said = status(ws)["p"]["last_error"]
    assert f"connection refused by 127.0.0.1:{port}" in said and "will try again" in said


@pytest.mark.parametrize(("code", "reason", "hint"), [
    (403, "Forbidden", "check the secret (option secret_env), the headers option and the partner's allow-list"),
    (404, "Not Found", "check the destination's URL and path_mode"),
    (400, "Bad Request", "the receiver refused the request"),
])
def test_a_4xx_is_dead_at_once_with_the_reason(tmp_path: Path, https_receiver: Receiver, code: int, reason: str,
                                               hint: str) -> None:
    https_receiver.respond_with(code, body="partner 'p' is not on the allow-list")
    assert https_receiver.ca_file is not None
    ws = workspace(tmp_path, http_partner(https_receiver, ca_file=str(https_receiver.ca_file)))
    report = ws.push()
    assert len(report.dead) == 1 and not report.retrying
    row = ledger(ws)
    assert (row["dead"], row["failed"], row["pending"]) == (1, 0, 0)
    assert ws.store.ledger.next_attempt() is None
    said = status(ws)["p"]["last_error"]
    assert f"HTTP {code} {reason}: partner 'p' is not on the allow-list" in said
    assert hint in said and "not retryable" in said
    ws.clock.set(ws.clock.now() + timedelta(days=1))
    assert ws.push().written == 0
    assert len(posts(https_receiver)) == 1  # dead is dead: only `wirepub retry --dead` sends it again


# ---- SFTP and S3 -------------------------------------------------------------------------------------------

def test_a_changed_sftp_host_key_is_dead_and_says_so(tmp_path: Path, sshd_server: SSHServer) -> None:  # noqa: F811
    out = tmp_path / "sftp-out"
    ws = workspace(tmp_path, {"name": "p", "destinations": [{
        "url": sshd_server.url(str(out)), "key_file": str(sshd_server.client_key),
        "known_hosts": str(sshd_server.wrong_known_hosts), "connect_timeout": 10}]})
    report = ws.push()
    assert len(report.dead) == 1 and not report.retrying  # someone in between, or a reinstalled server: a person
    said = status(ws)["p"]["last_error"]
    assert f"the host key of [127.0.0.1]:{sshd_server.port}" in said
    assert f"is not the one in known_hosts {sshd_server.wrong_known_hosts}" in said
    assert "Nothing was sent" in said and "not retryable" in said
    assert not out.exists()


def test_a_refused_ftp_login_is_dead_and_names_the_variable_not_the_password(
        tmp_path: Path, ftp_server: FTPServerInfo, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("ACME_FTP_PASSWORD", "not-the-password-0000")
    ws = workspace(tmp_path, {"name": "p", "destinations": [{
        "url": ftp_server.url("/faults"), "password_env": "ACME_FTP_PASSWORD", "connect_timeout": 10}]})
    report = ws.push()
    assert len(report.dead) == 1 and not report.retrying
    said = status(ws)["p"]["last_error"]
    assert "the server refused the login (530" in said
    assert f"check the user '{ftp_server.user}' in the URL and the password in the environment variable " \
           "ACME_FTP_PASSWORD" in said
    assert "not-the-password-0000" not in said and "not retryable" in said
    assert not (ftp_server.home / "faults").exists()


def test_a_missing_bucket_is_dead_and_named(tmp_path: Path, s3_server: str, aws_env: dict[str, str]) -> None:  # noqa: F811
    ws = workspace(tmp_path, {"name": "p", "destinations": [
        {"url": "s3://no-such-bucket-for-wirepub/wire", "endpoint_url": s3_server}]})
    report = ws.push()
    assert len(report.dead) == 1 and not report.retrying
    said = status(ws)["p"]["last_error"]
    assert f"the bucket 'no-such-bucket-for-wirepub' does not exist at {s3_server}" in said
    assert "not retryable" in said


def test_refused_s3_credentials_are_dead_and_named_without_the_secret(
        tmp_path: Path, s3_auth_server: AuthS3, aws_env: dict[str, str],  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    auth = s3_auth_server
    monkeypatch.setenv("ACME_S3_KEY_ID", auth.reader[0])   # may read, may not write
    monkeypatch.setenv("ACME_S3_SECRET", auth.reader[1])
    ws = workspace(tmp_path, {"name": "p", "destinations": [{
        "url": f"s3://{auth.bucket}/faults", "endpoint_url": auth.endpoint,
        "access_key_id_env": "ACME_S3_KEY_ID", "secret_access_key_env": "ACME_S3_SECRET"}]})
    report = ws.push()
    assert len(report.dead) == 1 and not report.retrying
    said = status(ws)["p"]["last_error"]
    assert "the credentials were refused (AccessDenied" in said
    assert f"s3:PutObject and s3:DeleteObject on arn:aws:s3:::{auth.bucket}/faults/*" in said
    assert "ACME_S3_KEY_ID" in said and "ACME_S3_SECRET" in said
    assert auth.reader[1] not in said and "not retryable" in said


# ---- one hanging partner does not hold up the others -------------------------------------------------------

class GatedReceiver(Receiver):
    """A Receiver whose every answer waits until the test opens the gate: a partner that hangs for exactly as
    long as the test wants. `arrived` is set as each request has been read and recorded."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.arrived = threading.Event()
        super().__init__()

    def _next_reply(self) -> Any:
        self.arrived.set()
        self.gate.wait(WAIT_LIMIT)
        return super()._next_reply()


def wait_for(condition: Any, what: str) -> None:
    wait_until(condition, what, timeout=WAIT_LIMIT, interval=0.01)


def test_a_hanging_partner_does_not_hold_up_the_others(tmp_path: Path, http_receiver: Receiver) -> None:
    stuck = GatedReceiver()
    try:
        ws = workspace(
            tmp_path,
            http_partner(stuck, "stuck", read_timeout=WAIT_LIMIT * 2),
            {"name": "folder", "formats": ["newsml-g2", "rss", "jsonfeed"], "destinations": ["public"]},
            {**http_partner(http_receiver, "web"), "formats": ["newsml-g2", "jsonfeed"]},
            partner_concurrency=2)
        for i in range(2, 7):
            ws.drop(f"fault-{i}.json", {**STORY, "id": f"fault-{i}", "version_created": f"2026-11-25T10:0{i}:00Z"})
        wanted = {f"fault-{i}" for i in range(1, 7)}
        items = {f"items/{s}/v1.xml" for s in wanted}
        pushed: list[Any] = []
        push = threading.Thread(target=lambda: pushed.append(ws.push()), daemon=True)
        push.start()

        def folder_has_all() -> bool:
            public = tmp_path / "public"
            return {p.relative_to(public).as_posix() for p in public.rglob("*") if p.is_file()} >= (
                items | {"feeds/rss.xml", "feeds/jsonfeed.json"})

        def web_has_all() -> bool:
            return {r.path.removeprefix("/ingest/") for r in posts(http_receiver)} >= items | {"feeds/jsonfeed.json"}

        # Every document of the healthy partners arrives, items and feeds, while the stuck partner's
        # requests have arrived and still have no answer (the gate is shut).
        wait_for(stuck.arrived.is_set, "the stuck partner's first request")
        wait_for(lambda: folder_has_all() and web_has_all(), "the healthy partners' documents")
        assert not stuck.gate.is_set() and push.is_alive()
        assert 1 <= len(posts(stuck)) <= 2  # no more in flight than its partner_concurrency
        row = ledger(ws, "stuck")
        assert row["delivered"] == 0 and row["failed"] == 0

        stuck.gate.set()
        push.join(WAIT_LIMIT)
        assert not push.is_alive()
        [report] = pushed
        assert report.ok, report
        rows = ws.store.reads.status(ws.clock.now())
        assert {r["partner"]: r["pending"] + r["failed"] + r["dead"] for r in rows} == {
            "stuck": 0, "folder": 0, "web": 0}
        assert {r.path.removeprefix("/ingest/") for r in posts(stuck)} == items
    finally:
        stuck.gate.set()
        stuck.stop()


def test_several_hanging_partners_together_cannot_take_every_worker(tmp_path: Path) -> None:
    """Two stuck partners at their limit of 2 would hold all 4 workers; a worker is always left for a partner
    with nothing in flight, so the healthy folder still gets every item while both hang."""
    stuck = [GatedReceiver(), GatedReceiver()]
    try:
        ws = workspace(
            tmp_path,
            http_partner(stuck[0], "stuck-1", read_timeout=WAIT_LIMIT * 2),
            http_partner(stuck[1], "stuck-2", read_timeout=WAIT_LIMIT * 2),
            {"name": "folder", "destinations": ["public"]},
            partner_concurrency=2, concurrency=4)
        for i in range(2, 7):
            ws.drop(f"fault-{i}.json", {**STORY, "id": f"fault-{i}", "version_created": f"2026-11-25T10:0{i}:00Z"})
        items = {f"items/fault-{i}/v1.xml" for i in range(1, 7)}
        push = threading.Thread(target=ws.push, daemon=True)
        push.start()
        wait_for(lambda: all(s.arrived.is_set() for s in stuck), "both stuck partners' first requests")
        wait_for(lambda: all((tmp_path / "public" / p).is_file() for p in items), "the folder's items")
        assert all(not s.gate.is_set() for s in stuck) and push.is_alive()
        for s in stuck:
            s.gate.set()
        push.join(WAIT_LIMIT)
        assert not push.is_alive()
    finally:
        for s in stuck:
            s.gate.set()
            s.stop()
