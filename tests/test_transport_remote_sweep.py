"""sftp:// and ftp(s):// destinations sweep the temporary files an earlier run left (a killed process): one
listing of the base folder at the first connection, one of each feed's folder before the first feed written
there. Against the real sshd and pyftpdlib servers, whose folders the test sees on disk."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from wirepub.transports import Destination, Put
from wirepub.transports.ftp import FTPTransport
from wirepub.transports.remote import RemoteTransport
from wirepub.transports.sftp import SFTPTransport
from wirepub.vocabulary import PutKind

HOUR = 3600.0
FEED = Put("feeds/rss.xml", b"<rss/>", "application/rss+xml", kind=PutKind.FEED, format="rss")
ITEM = Put("items/a/v2.xml", b"<x/>", "application/xml", kind=PutKind.ITEM)


def _aged(path: Path, seconds: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half a docu")
    at = datetime.now(UTC).timestamp() - seconds
    os.utime(path, (at, at))
    return path


def leftovers(base: Path) -> tuple[list[Path], list[Path]]:
    """(what the sweep removes, what it leaves) below a destination's base folder on the server's disk."""
    removed = [_aged(base / ".wirepub-tmp-rss.xml.0123456789ab.tmp", 2 * HOUR),
               _aged(base / "feeds/.wirepub-tmp-rss.xml.abcdef012345.tmp", 3 * HOUR)]
    kept = [_aged(base / "feeds/.wirepub-tmp-jsonfeed.json.aaaaaaaaaaaa.tmp", 60),    # young: someone at work
            _aged(base / "feeds/.wirepub-tmp-notes.tmp", 3 * HOUR),                  # not a name wirepub makes
            _aged(base / "feeds/partner.tmp", 3 * HOUR),
            _aged(base / "items/a/.wirepub-tmp-v1.xml.bbbbbbbbbbbb.tmp", 3 * HOUR)]  # item folders are not listed
    return removed, kept


@pytest.fixture
def closing() -> Iterator[list[RemoteTransport[Any]]]:
    opened: list[RemoteTransport[Any]] = []
    yield opened
    for transport in opened:
        transport.close()


def swept_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f for r in caplog.records if r.getMessage() == "removed stale temporary files"
            for f in r.wirepub_facts["files"]]  # type: ignore[attr-defined]


def test_sftp_sweeps_the_base_folder_and_the_feeds_folder(sshd_server, tmp_path, closing, caplog):
    base = tmp_path / "out"
    removed, kept = leftovers(base)
    (base / ".wirepub-tmp-linked.xml.cccccccccccc.tmp").symlink_to(kept[1])           # a symlink is not swept
    caplog.set_level(logging.INFO, logger="wirepub.transports.remote")
    t = SFTPTransport(Destination(sshd_server.url(str(base)), {
        "key_file": str(sshd_server.client_key), "known_hosts": str(sshd_server.known_hosts)}), base_dir=tmp_path)
    closing.append(t)
    t.put(ITEM)
    assert not removed[0].exists() and removed[1].exists()     # the base at connection; feeds/ not yet
    t.put(FEED)
    assert not removed[1].exists() and all(p.exists() for p in kept)
    assert (base / ".wirepub-tmp-linked.xml.cccccccccccc.tmp").is_symlink()
    assert (base / "feeds/rss.xml").read_bytes() == b"<rss/>"
    assert sorted(swept_log(caplog)) == sorted(str(p) for p in removed)


@pytest.mark.parametrize("scheme", ["ftp", "ftps"])
def test_ftp_sweeps_the_base_folder_and_the_feeds_folder(scheme, request, tmp_path, closing, caplog, monkeypatch):
    server = request.getfixturevalue(f"{scheme}_server")
    name = f"sweep-{scheme}-{tmp_path.name}"
    removed, kept = leftovers(server.home / name)
    caplog.set_level(logging.INFO, logger="wirepub.transports.remote")
    monkeypatch.setenv("WIREPUB_T_FTP_PASS", server.password)
    options: dict[str, Any] = {"password_env": "WIREPUB_T_FTP_PASS"}
    if server.ca_file is not None:
        options["ca_file"] = str(server.ca_file)
    t = FTPTransport(Destination(server.url(f"/{name}"), options), base_dir=tmp_path)
    closing.append(t)
    t.put(ITEM)
    assert not removed[0].exists() and removed[1].exists()
    t.put(FEED)
    assert not removed[1].exists() and all(p.exists() for p in kept)
    assert [p.rsplit("/", 1)[-1] for p in sorted(swept_log(caplog))] == sorted(p.name for p in removed)
