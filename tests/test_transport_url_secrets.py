"""Secrets a partner put in a destination's URL (a query's ``?api_key=``, a password in the user info) never
show: not in what a transport raises or logs, not in its location, not in `partners check`, `status` or
the status page. Against real servers on 127.0.0.1: the HTTPS receiver (answering 500, or not listening at
all), the FTP server, and wirepub itself in a subprocess."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wirepub.app import check_partners
from wirepub.config import build_config
from wirepub.errors import WirepubError
from wirepub.transports import Destination, Put, open_transport
from wirepub_testkit.ports import free_port

SECRET = "Qz8-api-Key-Value-4471"
ITEM = Put("items/story-1/v1.xml", b"<newsItem/>", "application/xml", kind="item", idempotency_key="k-1")

pytestmark = pytest.mark.usefixtures("no_proxies")


def failure(call: object) -> str:
    with pytest.raises(WirepubError) as caught:
        call()  # type: ignore[operator]
    return str(caught.value)


def test_an_https_query_secret_shows_in_no_message_location_or_log_line(https_receiver, caplog):
    for name in ("", "httpx", "httpcore"):     # everything, even where an earlier test quietened a library
        caplog.set_level(logging.DEBUG, logger=name)
    url = f"{https_receiver.url}/in?api_key={SECRET}&channel=wire"
    https_receiver.respond_with(500, body="try later", times=1)
    t = open_transport(Destination(url, {"ca_file": str(https_receiver.ca_file)}), base_dir=Path("."))
    messages = [t.location, failure(lambda: t.put(ITEM))]
    t.put(ITEM)                                       # delivered: the request did carry the key
    https_receiver.respond_with(302, headers={"Location": f"/elsewhere?api_key={SECRET}"}, times=1)
    messages.append(failure(lambda: t.put(ITEM)))
    t.close()
    refused_url = f"https://127.0.0.1:{free_port()}/in?api_key={SECRET}"
    r = open_transport(Destination(refused_url, {"connect_timeout": 2}), base_dir=Path("."))
    messages += [r.location, failure(lambda: r.put(ITEM))]
    r.close()

    assert f"api_key={SECRET}" in https_receiver.requests[-2].path       # the receiver got its key
    assert "500" in messages[1] and "refused" in messages[4]            # and the messages said what happened
    assert all("api_key=***" in m for m in messages), messages
    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert "HTTP Request" in logged                                     # httpx did log the requests
    for said in [*messages, logged]:
        assert SECRET not in said


def test_an_ftp_url_with_a_user_shows_the_user_and_never_a_password_or_query(ftp_server, monkeypatch):
    monkeypatch.setenv("WIREPUB_T_FTP_WRONG", SECRET)
    t = open_transport(Destination(ftp_server.url("/out"), {"password_env": "WIREPUB_T_FTP_WRONG",
                                                            "connect_timeout": 5}), base_dir=Path("."))
    refused = failure(lambda: t.put(ITEM))
    t.close()
    assert ftp_server.user in refused and ftp_server.user in t.location and "login" in refused
    with_password = ftp_server.url("/out").replace("@", f":{SECRET}@", 1)
    with_query = ftp_server.url(f"/out?password={SECRET}")
    said = [refused]
    for url in (with_password, with_query, f"gopher://host/x?key={SECRET}", f"s3://bucket/x?key={SECRET}",
                f"sftp://alice:{SECRET}@127.0.0.1/out"):
        with pytest.raises(WirepubError) as caught:   # a ConfigError, or a DestinationError for s3://
            open_transport(Destination(url), base_dir=Path("."))
        said.append(str(caught.value))
    for message in said:
        assert SECRET not in message, message


def test_a_file_destinations_query_never_shows(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")
    t = open_transport(Destination(f"file://{blocked}?token={SECRET}"), base_dir=tmp_path)
    message = failure(lambda: t.put(ITEM))
    assert "Not a directory" in message and SECRET not in message and SECRET not in t.url


def test_partners_check_shows_destinations_without_secrets(tmp_path, https_receiver):
    config = build_config({"partners": [{"name": "acme", "formats": ["newsml-g2"], "destinations": [
        {"url": f"{https_receiver.url}/in?api_key={SECRET}", "ca_file": str(https_receiver.ca_file)}]}]},
        base_dir=tmp_path, path=None)
    [result] = check_partners(config)
    assert result.ok and result.destination == f"{https_receiver.url}/in?api_key=***"


def test_no_cli_output_shows_a_url_secret(tmp_path, story_doc, https_receiver):
    """push (with its log at -vv), partners, partners check --json, status --json and the status page."""
    https_receiver.respond_with(500, body="down for maintenance")
    down = free_port()
    (tmp_path / "stories").mkdir()
    (tmp_path / "stories/s1.json").write_text(json.dumps(story_doc(id="s1")), encoding="utf-8")
    (tmp_path / "wirepub.toml").write_text(f"""
[[partners]]
name = "acme"
formats = ["newsml-g2"]
[[partners.destinations]]
url = "{https_receiver.url}/in?api_key={SECRET}"
ca_file = "{https_receiver.ca_file}"

[[partners]]
name = "gone"
formats = ["newsml-g2"]
[[partners.destinations]]
url = "https://127.0.0.1:{down}/in?api_key={SECRET}"
connect_timeout = 2
""", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "WIREPUB_CONFIG" and "PROXY" not in k.upper()}

    def wirepub(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "wirepub.cli", "-vv", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    done = {args: wirepub(*args) for args in (
        ("push",), ("partners",), ("partners", "check", "--json"), ("status", "--json"),
        ("status", "--html", str(tmp_path / "status.html")),
        ("status", "--html", str(tmp_path / "story.html"), "--story", "s1"))}
    said = {" ".join(args): d.stdout + d.stderr for args, d in done.items()}
    said["pages"] = "".join((tmp_path / name).read_text(encoding="utf-8") for name in ("status.html", "story.html"))
    assert "will retry" in said["push"] and "500" in said["push"]
    checks = json.loads(done[("partners", "check", "--json")].stdout)
    assert {c["destination"] for c in checks} == {f"{https_receiver.url}/in?api_key=***",
                                                  f"https://127.0.0.1:{down}/in?api_key=***"}
    assert "api_key=***" in said["status --json"] and "api_key=***" in said["pages"]
    for what, text in said.items():
        assert SECRET not in text, f"wirepub {what} showed the secret"
