"""Say what is unsafe: plain ftp:// and http:// (and an s3:// endpoint_url over plain http://) to a machine
that is not this one warn at config load, in `wirepub push`, at the start of `wirepub run` and in `wirepub
partners check`; and an AWS_PROFILE naming a profile that is not there is called AWS_PROFILE."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wirepub import app
from wirepub.config import build_config
from wirepub.errors import ConfigError
from wirepub.transports import Destination, Put, is_loopback, unsafe
from wirepub.transports.s3 import S3Transport
from wirepub_testkit.daemon import Running
from wirepub_testkit.servers.s3 import admin_client

# TEST-NET-1 (RFC 5737): an address that is not this machine and that nothing answers at.
ELSEWHERE = "192.0.2.10"
FEED = Put("feeds/main.rss", b"<rss version='2.0'/>", "application/rss+xml", kind="feed", format="rss")


@pytest.mark.parametrize("url, options, needle", [
    (f"ftp://alice@{ELSEWHERE}/out", {"password_env": "P"}, "the password and every document unencrypted"),
    ("ftp://alice@files.example.net/out", {}, "ftps:// or sftp://"),
    ("http://wire.example.net/in?api_key=k3y-value-1", {}, "every document and the query unencrypted"),
    ("s3://bucket/wire", {"endpoint_url": "http://minio.example.net:9000"}, "option endpoint_url"),
])
def test_plain_protocols_to_another_machine_are_unsafe(url: str, options: dict[str, Any], needle: str) -> None:
    said = unsafe(Destination(url, options))
    assert said is not None and needle in said and "not this machine" in said
    assert "k3y-value-1" not in said


@pytest.mark.parametrize("url, options", [
    ("http://127.0.0.1:8080/in", {}), ("http://localhost/in", {}), ("http://[::1]:81/", {}),
    ("ftp://alice@127.0.0.2/out", {}), ("http://wire.localhost/in", {}), ("http://[::ffff:127.0.0.1]/", {}),
    ("https://wire.example.net/in", {}), ("ftps://alice@files.example.net/", {}), ("sftp://a@b.example.net/", {}),
    ("s3://bucket", {}), ("s3://bucket", {"endpoint_url": "https://minio.example.net"}),
    ("s3://bucket", {"endpoint_url": "http://127.0.0.1:9000"}), ("public", {}), ("memo://desk", {}),
])
def test_loopback_and_encrypted_destinations_are_not(url: str, options: dict[str, Any]) -> None:
    assert unsafe(Destination(url, options)) is None


def test_loopback_is_judged_without_a_name_lookup() -> None:
    assert is_loopback("127.9.9.9") and is_loopback("LOCALHOST.") and is_loopback("[::1]")
    assert not is_loopback("localhost.example.net") and not is_loopback("10.0.0.1") and not is_loopback("")


CONFIG = f"""
[delivery]
max_attempts = 1

[[partners]]
name = "clear"
formats = ["rss"]
[[partners.destinations]]
url = "http://{ELSEWHERE}:9/in"
connect_timeout = 1

[[partners]]
name = "local"
formats = ["rss"]
destinations = ["public"]
"""
WARNING = f"partner clear: destination http://{ELSEWHERE}:9/in: plain http:// sends every document unencrypted"


def test_config_load_collects_the_warnings(tmp_path: Path) -> None:
    import tomllib

    config = build_config(tomllib.loads(CONFIG), base_dir=tmp_path, path=None)
    (tmp_path / "stories").mkdir()
    assert len(config.warnings) == 1 and config.warnings[0].startswith(WARNING)
    quiet = build_config({"partners": [{"name": "p", "destinations": ["http://127.0.0.1:9/in"]}]},
                         base_dir=tmp_path, path=None)
    assert quiet.warnings == ()
    assert app.push(config).warnings[:1] == list(config.warnings)


def _wirepub(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "WIREPUB_CONFIG" and "PROXY" not in k.upper()}
    return subprocess.run([sys.executable, "-m", "wirepub.cli", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_push_and_partners_check_say_it(tmp_path: Path) -> None:
    (tmp_path / "wirepub.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "stories").mkdir()
    pushed = _wirepub(tmp_path, "push", "--json")
    assert WARNING in pushed.stderr
    assert json.loads(pushed.stdout)["warnings"][0].startswith(WARNING)

    checked = _wirepub(tmp_path, "partners", "check")
    lines = checked.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("clear: "))
    assert lines[at + 1].startswith(f"  warning: destination http://{ELSEWHERE}:9/in: plain http://")
    assert sum("warning" in line for line in lines) == 1                       # "local" is quiet
    rows = {r["partner"]: r for r in json.loads(_wirepub(tmp_path, "partners", "check", "--json").stdout)}
    assert "plain http://" in rows["clear"]["warning"] and not rows["clear"]["ok"]
    assert rows["local"]["warning"] is None and rows["local"]["ok"]


def test_the_daemon_says_it_once_at_start(tmp_path: Path) -> None:
    (tmp_path / "wirepub.toml").write_text(CONFIG + '\n[daemon]\nlisten = "127.0.0.1:0"\n', encoding="utf-8")
    (tmp_path / "stories").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "WIREPUB_CONFIG" and "PROXY" not in k.upper()}
    daemon = Running(tmp_path, env)
    try:
        said = [e for e in daemon.lines() if e.get("msg") == "unsafe destination"]
    finally:
        daemon.terminate()
    assert len(said) == 1 and said[0]["level"] == "warning" and said[0]["warning"].startswith(WARNING)


# ---- AWS_PROFILE ------------------------------------------------------------------------------------------

def test_an_aws_profile_variable_naming_a_missing_profile_is_called_aws_profile(s3_server, s3_bucket, aws_env,
                                                                                 monkeypatch, tmp_path):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_PROFILE", "ghost")
    with pytest.raises(ConfigError) as caught:
        S3Transport(Destination(f"s3://{s3_bucket}/wire", {"endpoint_url": s3_server}), base_dir=tmp_path)
    message = str(caught.value)
    assert "'ghost'" in message and "AWS_PROFILE" in message and "None" not in message
    assert "option profile" not in message

    credentials = tmp_path / "credentials"       # the profile made: the same variable now delivers
    credentials.write_text(f"[ghost]\naws_access_key_id = {aws_env['AWS_ACCESS_KEY_ID']}\n"
                           f"aws_secret_access_key = {aws_env['AWS_SECRET_ACCESS_KEY']}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    t = S3Transport(Destination(f"s3://{s3_bucket}/wire", {"endpoint_url": s3_server}), base_dir=tmp_path)
    t.put(FEED)
    t.close()
    monkeypatch.delenv("AWS_PROFILE")            # the admin's client is not the partner's
    listed = admin_client(s3_server).list_objects_v2(Bucket=s3_bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["wire/feeds/main.rss"]


def test_an_option_profile_that_is_missing_is_still_called_the_option(s3_server, aws_env, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_PROFILE", "ghost")
    with pytest.raises(ConfigError, match=r"AWS profile 'nobody' \(option profile\) is not in"):
        S3Transport(Destination("s3://bucket", {"endpoint_url": s3_server, "profile": "nobody"}), base_dir=tmp_path)
