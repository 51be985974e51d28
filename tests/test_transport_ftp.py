"""ftp:// and ftps:// destinations, against real pyftpdlib servers on 127.0.0.1 (wirepub_testkit.servers.ftp)."""

from __future__ import annotations

import ftplib
import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wirepub.errors import ConfigError
from wirepub.transports import (
    DeliveryError,
    Destination,
    Misconfigured,
    Put,
    Refused,
    Throttled,
    Unreachable,
    open_transport,
)
from wirepub.transports.ftp import FTPTransport
from wirepub_testkit.ports import closed_port
from wirepub_testkit.servers.ftp import FTPServerInfo, start_ftp_server
from wirepub_testkit.watching import FolderWatcher, local_listing

XML = "application/xml"
PASSWORD_ENV = "WIREPUB_TEST_FTP_PASSWORD"


@pytest.fixture(params=["ftp", "ftps"])
def server(request) -> FTPServerInfo:
    """Each core test runs against plain FTP and against FTPS (TLS required on control and data)."""
    return request.getfixturevalue(f"{request.param}_server")  # type: ignore[no-any-return]


@pytest.fixture
def folder(server, request) -> Iterator[tuple[str, Path]]:
    """A fresh folder for this test on the server: (its path in URLs, where it is on disk)."""
    name = f"t-{request.node.name.replace('[', '-').replace(']', '')}"[:80]
    yield f"/{name}", server.home / name


@pytest.fixture
def connect(tmp_path, monkeypatch) -> Iterator[Callable[..., FTPTransport]]:
    """connect(server, path, **options): a transport to the server's URL for path, closed after the test."""
    made: list[FTPTransport] = []

    def build(target: FTPServerInfo, path: str, *, url: str | None = None, password: str | None = None,
              **options: Any) -> FTPTransport:
        monkeypatch.setenv(PASSWORD_ENV, password or target.password)
        settings: dict[str, Any] = {"password_env": PASSWORD_ENV, "connect_timeout": 5, "io_timeout": 20}
        if target.ca_file is not None:
            settings["ca_file"] = str(target.ca_file)
        settings.update(options)
        settings = {k: v for k, v in settings.items() if v is not None}
        transport = FTPTransport(Destination(url or target.url(path), settings), base_dir=tmp_path)
        made.append(transport)
        return transport

    yield build
    for transport in made:
        transport.close()


@pytest.fixture
def make(server, connect) -> Callable[..., FTPTransport]:
    """make(path, **options): connect() to the parametrised server (FTP, then FTPS)."""
    return lambda path, **options: connect(server, path, **options)


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def refused(transport: FTPTransport, doc: Put | None = None) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        transport.put(doc or Put("items/a/v1.xml", b"<x/>", XML))
    assert str(caught.value).startswith(transport.url + ": ")
    return caught.value


# ---- writing ----------------------------------------------------------------------------------------------


def test_put_writes_the_bytes_below_the_base_path_creating_folders(make, folder):
    path, disk = folder
    t = make(f"{path}/wire")
    t.put(Put("items/2026/11/abc/v1.xml", b"<item>one</item>", XML))
    assert (disk / "wire/items/2026/11/abc/v1.xml").read_bytes() == b"<item>one</item>"
    t.put(Put("feed.xml", b"<rss/>", XML))
    assert (disk / "wire/feed.xml").read_bytes() == b"<rss/>"
    assert tree(disk) == ["wire", "wire/feed.xml", "wire/items", "wire/items/2026", "wire/items/2026/11",
                          "wire/items/2026/11/abc", "wire/items/2026/11/abc/v1.xml"]


def test_open_transport_picks_the_ftp_transport(server, folder, tmp_path, monkeypatch):
    path, disk = folder
    monkeypatch.setenv(PASSWORD_ENV, server.password)
    options: dict[str, Any] = {"password_env": PASSWORD_ENV}
    if server.ca_file:
        options["ca_file"] = str(server.ca_file)
    t = open_transport(Destination(server.url(path), options), base_dir=tmp_path)
    try:
        assert isinstance(t, FTPTransport)
        assert t.location == f"{server.scheme}://wire@127.0.0.1:{server.port}{path}"
        t.put(Put("a.txt", b"a", "text/plain"))
        assert (disk / "a.txt").read_bytes() == b"a"
    finally:
        t.close()


def test_overwrite_replaces_by_rename_and_leaves_no_temporary_files(make, folder):
    path, disk = folder
    t = make(path)
    t.put(Put("items/a/v1.xml", b"old version", XML))
    target = disk / "items/a/v1.xml"
    inode = target.stat().st_ino
    t.put(Put("items/a/v1.xml", b"new", XML))
    assert target.read_bytes() == b"new"
    assert target.stat().st_ino != inode  # a new file renamed into place, not the old one rewritten
    t.put(Put("items/a/v1.xml", b"", XML))
    assert target.read_bytes() == b""
    assert os.listdir(target.parent) == ["v1.xml"]


def test_delete_removes_and_a_missing_document_is_not_an_error(make, folder):
    path, disk = folder
    t = make(path)
    t.put(Put("items/a/v1.xml", b"x", XML))
    t.put(Put("items/a/v2.xml", b"y", XML))
    t.delete("items/a/v1.xml")
    assert os.listdir(disk / "items/a") == ["v2.xml"]
    t.delete("items/a/v1.xml")
    t.delete("never/was/there.xml")
    t.delete("items/a/v2.xml")
    t.delete("items/a/v2.xml")  # an empty folder
    assert os.listdir(disk / "items/a") == []


def test_probe_writes_and_removes_and_leaves_nothing(make, folder):
    path, disk = folder
    make(path).probe()
    assert disk.is_dir() and os.listdir(disk) == []


def test_paths_cannot_leave_the_destination(make, folder, server):
    path, disk = folder
    t = make(f"{path}/inner")
    for bad in ("../escape.xml", "a/../../escape.xml", "/escape.xml", "", "a//b.xml", "a.xml\r\nDELE x"):
        error = refused(t, Put(bad, b"x", XML))
        assert not error.retryable
        assert isinstance(error, Refused)
    assert not list(server.home.rglob("escape.xml"))


def test_puts_from_four_threads_at_once_all_land(make, folder):
    path, disk = folder
    t = make(path)
    docs = [Put(f"items/{n}/v1.xml", f"<item n='{n}'>".encode() + os.urandom(50_000), XML) for n in range(8)]
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker(chunk: list[Put]) -> None:
        try:
            start.wait(timeout=10)
            for doc in chunk:
                t.put(doc)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(docs[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    for doc in docs:
        assert (disk / doc.path).read_bytes() == doc.data
    assert not [p for p in disk.rglob("*") if p.name.startswith(".wirepub-tmp-")]


def test_a_reader_never_sees_a_partial_file(make, folder, server):
    path, disk = folder
    t = make(path)
    t.put(Put("big/.keep", b"", "text/plain"))  # the folder exists before the watch starts
    data = os.urandom(5 * 1024 * 1024)
    partner = server.client()  # a partner listing the folder over FTP, as partners do

    def over_ftp() -> dict[str, int]:
        return {name: int(facts.get("size", -1)) for name, facts in partner.mlsd(f"{path}/big", ["size"])}

    server.set_write_delay(0.002)  # the upload takes a while, and the watchers see it under way
    try:
        with FolderWatcher(over_ftp) as remote, FolderWatcher(local_listing(disk / "big")) as local:
            t.put(Put("big/story.xml", data, XML))
    finally:
        server.set_write_delay(0)
        partner.close()
    for watcher in (remote, local):
        finals = {size for name, size in watcher.seen if name == "story.xml"}
        temps = {size for name, size in watcher.seen if name.startswith(".wirepub-tmp-")}
        assert watcher.rounds > 3, watcher.errors
        assert finals <= {len(data)}, f"a reader saw story.xml at sizes {sorted(finals)}"
        assert any(0 < size < len(data) for size in temps), "the watch never saw the upload under way"
    assert (disk / "big/story.xml").read_bytes() == data
    assert sorted(os.listdir(disk / "big")) == [".keep", "story.xml"]


def test_active_mode_works_too(make, folder):
    path, disk = folder
    t = make(path, passive=False)
    t.put(Put("a.xml", b"active", XML))
    assert (disk / "a.xml").read_bytes() == b"active"


# ---- refusals and failures --------------------------------------------------------------------------------


def test_a_wrong_password_is_not_retried(make, folder, server):
    path, disk = folder
    t = make(path, password="not-the-password")
    error = refused(t)
    assert not error.retryable
    assert isinstance(error, Refused)
    message = str(error)
    assert "530" in message and "refused the login" in message and PASSWORD_ENV in message
    assert "not-the-password" not in message
    assert not disk.exists()


def test_a_user_without_write_permission_is_not_retried(make, folder, server):
    path, disk = folder
    disk.mkdir()
    t = make(path, url=server.url(path, user=server.readonly_user), password=server.readonly_password)
    error = refused(t, Put("a.xml", b"x", XML))
    assert not error.retryable
    assert isinstance(error, Refused)
    assert "550" in str(error)
    assert os.listdir(disk) == []


def test_a_failed_rename_leaves_no_temporary_file(make, folder):
    path, disk = folder
    t = make(path)
    (disk / "taken.xml").mkdir(parents=True)   # a folder where the document should go
    (disk / "taken.xml/inside").write_text("keep")
    assert not refused(t, Put("taken.xml", b"x", XML)).retryable
    assert sorted(os.listdir(disk)) == ["taken.xml"]
    assert (disk / "taken.xml/inside").read_text() == "keep"


def test_a_file_in_the_way_of_a_folder_is_not_retried(make, folder):
    path, disk = folder
    t = make(path)
    t.put(Put("items", b"a file, not a folder", XML))
    assert not refused(t, Put("items/a.xml", b"x", XML)).retryable
    assert (disk / "items").read_bytes() == b"a file, not a folder"


def test_a_closed_port_is_retryable(make, server):
    port = closed_port()
    t = make("/x", url=server.url("/x", port=port))
    error = refused(t)
    assert error.retryable
    assert isinstance(error, Unreachable)
    assert f"127.0.0.1:{port}" in str(error)


def test_a_silent_server_times_out_retryably(make, server):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts (in the kernel) but never greets
        port = silent.getsockname()[1]
        t = make("/x", url=server.url("/x", port=port), connect_timeout=0.5)
        error = refused(t)
        assert error.retryable
        assert isinstance(error, Unreachable)


def test_a_busy_server_4xx_is_retryable(tmp_path, connect):
    with start_ftp_server(tmp_path / "busy", max_cons=1) as busy:
        holders = []
        try:
            # pyftpdlib counts the connections it serves; fill them, then one more is turned away with 421.
            for _ in range(3):
                holder = ftplib.FTP(timeout=5)
                holder.connect(busy.host, busy.port)
                holders.append(holder)
                t = connect(busy, "/x")
                try:
                    t.put(Put("a.xml", b"x", XML))
                except DeliveryError as error:
                    assert error.retryable
                    assert isinstance(error, Throttled)
                    assert re.search(r"\b4\d\d\b", str(error)), str(error)
                    break
                finally:
                    t.close()
            else:
                pytest.fail("the server never turned a connection away")
        finally:
            for holder in holders:
                holder.close()


@pytest.mark.parametrize("tls", [False, True], ids=["ftp", "ftps"])
def test_a_dropped_connection_is_reopened_once(tmp_path, connect, tls):
    import time

    with start_ftp_server(tmp_path / "sleepy", tls=tls, idle_timeout=0.5) as sleepy:
        t = connect(sleepy, "/out")
        t.put(Put("one.xml", b"1", XML))
        time.sleep(1.5)  # the server hangs up on idle clients after 0.5 s
        t.put(Put("two.xml", b"2", XML))
        assert sorted(os.listdir(sleepy.home / "out")) == ["one.xml", "two.xml"]
        assert (sleepy.home / "out/two.xml").read_bytes() == b"2"


def test_a_server_that_will_not_rename_over_a_file_gets_the_target_removed_first(tmp_path, connect):
    with start_ftp_server(tmp_path / "iis", refuse_rename_over_existing=True) as strict:
        t = connect(strict, "/out")
        t.put(Put("a.xml", b"old", XML))
        t.put(Put("a.xml", b"new", XML))
        assert (strict.home / "out/a.xml").read_bytes() == b"new"
        assert os.listdir(strict.home / "out") == ["a.xml"]


# ---- FTPS certificates ------------------------------------------------------------------------------------


def test_ftps_without_the_private_ca_is_refused_as_untrusted(connect, ftps_server):  # noqa: F811
    t = connect(ftps_server, "/x", ca_file=None)
    assert t.ca_file is None
    error = refused(t)
    assert not error.retryable
    assert isinstance(error, Misconfigured)
    assert "not trusted" in str(error) and "ca_file" in str(error)
    assert not (ftps_server.home / "x").exists()


def test_ftps_with_another_ca_is_refused(connect, ftps_server, tmp_path):  # noqa: F811
    trustme = pytest.importorskip("trustme")
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    error = refused(connect(ftps_server, "/x", ca_file=str(other)))
    assert not error.retryable and "not trusted" in str(error) and str(other) in str(error)


def test_ftps_checks_the_host_name(connect, ftps_server):  # noqa: F811
    # The certificate names 127.0.0.1 only; reached as "localhost" (the same server) it must be refused.
    try:
        socket.getaddrinfo("localhost", ftps_server.port)
    except OSError:
        pytest.skip("localhost does not resolve here")
    t = connect(ftps_server, "/x", url=f"ftps://wire@localhost:{ftps_server.port}/x")
    error = refused(t)
    assert not error.retryable and "not trusted" in str(error)
    assert "localhost" in str(error)


def test_plain_ftp_to_a_tls_only_server_says_so(connect, ftps_server):  # noqa: F811
    t = connect(ftps_server, "/x", url=f"ftp://wire@127.0.0.1:{ftps_server.port}/x", ca_file=None)
    error = refused(t)
    assert not error.retryable and "ftps://" in str(error)


def test_ftps_to_a_server_without_tls_is_refused(connect, ftp_server):  # noqa: F811
    t = connect(ftp_server, "/x", url=f"ftps://wire@127.0.0.1:{ftp_server.port}/x")
    error = refused(t)
    assert not error.retryable and "AUTH TLS" in str(error)
    assert isinstance(error, Misconfigured)


# ---- URLs and options -------------------------------------------------------------------------------------


def test_urls_and_locations(tmp_path):
    def parse(url: str, **options: Any) -> FTPTransport:
        return FTPTransport(Destination(url, options), base_dir=tmp_path)

    t = parse("ftp://acme@files.example.net/incoming/wire/")
    assert (t.scheme, t.user, t.host, t.port, t.base) == ("ftp", "acme", "files.example.net", 21, "incoming/wire")
    assert t.location == "ftp://acme@files.example.net:21/incoming/wire"
    t = parse("ftps://acme@files.example.net:2121/%2Fsrv/wire")
    assert (t.scheme, t.port, t.base) == ("ftps", 2121, "/srv/wire")
    assert t.location == "ftps://acme@files.example.net:2121/%2Fsrv/wire"
    assert parse("ftp://files.example.net").user == "anonymous"
    assert parse("ftp://a%40b@files.example.net/x").user == "a@b"


def test_a_password_in_the_url_is_refused_without_repeating_it(tmp_path):
    with pytest.raises(ConfigError, match="password_env") as caught:
        FTPTransport(Destination("ftp://acme:Sw0rdfish@files.example.net/x"), base_dir=tmp_path)
    assert "Sw0rdfish" not in str(caught.value)


def test_unset_or_empty_password_variables_are_config_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("WIREPUB_TEST_UNSET", raising=False)
    with pytest.raises(ConfigError, match="option password_env names the environment variable "
                                          "WIREPUB_TEST_UNSET, which is not set"):
        FTPTransport(Destination("ftp://acme@h/x", {"password_env": "WIREPUB_TEST_UNSET"}), base_dir=tmp_path)
    monkeypatch.setenv("WIREPUB_TEST_EMPTY", "")
    with pytest.raises(ConfigError, match="WIREPUB_TEST_EMPTY, which is empty"):
        FTPTransport(Destination("ftp://acme@h/x", {"password_env": "WIREPUB_TEST_EMPTY"}), base_dir=tmp_path)
    with pytest.raises(ConfigError, match="must be the NAME") as caught:
        FTPTransport(Destination("ftp://acme@h/x", {"password_env": "hunter2 secret!"}), base_dir=tmp_path)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("url, options, match", [
    ("ftp://acme@h/x", {"pasword_env": "X"}, "unknown option"),
    ("ftp://acme@h/x", {"ca_file": "ca.pem"}, "ca_file is for ftps"),
    ("ftps://acme@h/x", {"ca_file": "missing-ca.pem"}, "does not exist"),
    ("ftp://acme@h/x", {"passive": "yes"}, "passive"),
    ("ftp://acme@h/x", {"connect_timeout": -1}, "connect_timeout"),
    ("ftp://acme@h/x", {"connect_timeout": 1e300}, "connect_timeout must be a number of seconds above 0 and at most"),
    ("ftp://acme@h/x", {"io_timeout": 3601}, "io_timeout"),
    ("ftp://acme@h/x", {"password_env": "PASSWORD\n"}, "must be the NAME of an environment variable"),
    ("ftp://acme@h/x", {"temp_prefix": "a/b"}, "temp_prefix"),
    ("ftp://acme@h/x?type=i", {}, "no query"),
    ("ftp://acme@h/a/../../x", {}, r"'\.\.'"),
    ("ftp://acme@h/a%0D%0ADELE%20b", {}, "line breaks"),
    ("ftp://acme@h:0x15/x", {}, "port"),
])
def test_bad_urls_and_options_are_config_errors(tmp_path, url, options, match):
    with pytest.raises(ConfigError, match=match):
        FTPTransport(Destination(url, options), base_dir=tmp_path)
