"""sftp:// destinations, against a real OpenSSH sshd on 127.0.0.1 (wirepub_testkit.servers.ssh)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wirepub.errors import ConfigError
from wirepub.transports import DeliveryError, Destination, Misconfigured, Put, Refused, Unreachable, open_transport
from wirepub.transports.sftp import SFTPTransport
from wirepub_testkit.ports import closed_port
from wirepub_testkit.watching import FolderWatcher, local_listing

XML = "application/xml"


@pytest.fixture
def make(sshd_server, tmp_path) -> Iterator[Callable[..., SFTPTransport]]:  # noqa: F811
    """make(path, **options): a transport to sftp://user@127.0.0.1:PORT<path>, closed after the test."""
    made: list[SFTPTransport] = []

    def build(path: str, *, url: str | None = None, **options: Any) -> SFTPTransport:
        settings: dict[str, Any] = {"key_file": str(sshd_server.client_key),
                                    "known_hosts": str(sshd_server.known_hosts), "connect_timeout": 5}
        settings.update(options)
        settings = {k: v for k, v in settings.items() if v is not None}
        transport = SFTPTransport(Destination(url or sshd_server.url(path), settings), base_dir=tmp_path)
        made.append(transport)
        return transport

    yield build
    for transport in made:
        transport.close()


def remote_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def refused(transport: SFTPTransport, doc: Put | None = None) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        transport.put(doc or Put("items/a/v1.xml", b"<x/>", XML))
    assert str(caught.value).startswith(transport.url + ": ")
    return caught.value


# ---- writing ----------------------------------------------------------------------------------------------


def test_put_writes_the_bytes_below_the_base_path_creating_folders(make, tmp_path):
    base = tmp_path / "remote" / "wire"
    t = make(f"{base}")
    t.put(Put("items/2026/11/abc/v1.xml", b"<item>one</item>", XML))
    assert (base / "items/2026/11/abc/v1.xml").read_bytes() == b"<item>one</item>"
    t.put(Put("feed.xml", b"<rss/>", XML))
    assert (base / "feed.xml").read_bytes() == b"<rss/>"
    assert remote_files(base) == ["feed.xml", "items", "items/2026", "items/2026/11", "items/2026/11/abc",
                                  "items/2026/11/abc/v1.xml"]


def test_open_transport_picks_sftp_for_the_scheme(sshd_server, tmp_path):  # noqa: F811
    dest = Destination(sshd_server.url(f"{tmp_path}/out"),
                       {"key_file": str(sshd_server.client_key), "known_hosts": str(sshd_server.known_hosts)})
    t = open_transport(dest, base_dir=tmp_path)
    try:
        assert isinstance(t, SFTPTransport)
        t.put(Put("a.txt", b"a", "text/plain"))
        assert (tmp_path / "out/a.txt").read_bytes() == b"a"
    finally:
        t.close()


def test_overwrite_replaces_by_rename_and_leaves_no_temporary_files(make, tmp_path):
    t = make(f"{tmp_path}/out")
    t.put(Put("items/a/v1.xml", b"old version", XML))
    target = tmp_path / "out/items/a/v1.xml"
    inode = target.stat().st_ino
    t.put(Put("items/a/v1.xml", b"new", XML))
    assert target.read_bytes() == b"new"
    assert target.stat().st_ino != inode  # a new file renamed into place, not the old one rewritten
    t.put(Put("items/a/v1.xml", b"", XML))  # empty documents are documents too
    assert target.read_bytes() == b""
    assert os.listdir(target.parent) == ["v1.xml"]


def test_delete_removes_and_a_missing_document_is_not_an_error(make, tmp_path):
    t = make(f"{tmp_path}/out")
    t.put(Put("items/a/v1.xml", b"x", XML))
    t.delete("items/a/v1.xml")
    assert not (tmp_path / "out/items/a/v1.xml").exists()
    t.delete("items/a/v1.xml")
    t.delete("never/was/there.xml")


def test_probe_writes_and_removes_and_leaves_nothing(make, tmp_path):
    t = make(f"{tmp_path}/out")
    t.probe()
    assert (tmp_path / "out").is_dir()
    assert os.listdir(tmp_path / "out") == []


def test_paths_cannot_leave_the_destination(make, tmp_path):
    t = make(f"{tmp_path}/out/inner")
    for path in ("../escape.xml", "a/../../escape.xml", "/etc/escape.xml", "", "a//b.xml"):
        error = refused(t, Put(path, b"x", XML))
        assert not error.retryable
    assert not (tmp_path / "out/escape.xml").exists()
    assert not list(tmp_path.rglob("escape.xml"))


def test_puts_from_four_threads_at_once_all_land(make, tmp_path):
    t = make(f"{tmp_path}/out")
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
        assert (tmp_path / "out" / doc.path).read_bytes() == doc.data
    assert not [p for p in (tmp_path / "out").rglob("*") if p.name.startswith(".wirepub-tmp-")]


def test_a_reader_never_sees_a_partial_file(make, tmp_path):
    t = make(f"{tmp_path}/out")
    t.put(Put("big/.keep", b"", "text/plain"))   # the folder exists before the watch starts
    data = os.urandom(5 * 1024 * 1024)
    with FolderWatcher(local_listing(tmp_path / "out/big")) as watcher:
        t.put(Put("big/story.xml", data, XML))
    finals = {size for name, size in watcher.seen if name == "story.xml"}
    temps = {size for name, size in watcher.seen if name.startswith(".wirepub-tmp-")}
    assert watcher.rounds > 10
    assert finals <= {len(data)}, f"a reader saw story.xml at sizes {sorted(finals)}"
    assert any(0 < size < len(data) for size in temps), "the watch never saw the write in progress"
    assert (tmp_path / "out/big/story.xml").read_bytes() == data
    assert sorted(os.listdir(tmp_path / "out/big")) == [".keep", "story.xml"]


def test_a_dropped_connection_is_reopened_once(make, sshd_server, tmp_path):  # noqa: F811
    t = make(f"{tmp_path}/out")
    t.put(Put("one.xml", b"1", XML))
    assert sshd_server.drop_connections() > 0
    t.put(Put("two.xml", b"2", XML))
    assert (tmp_path / "out/two.xml").read_bytes() == b"2"
    assert sorted(os.listdir(tmp_path / "out")) == ["one.xml", "two.xml"]


def test_an_encrypted_key_opens_with_its_passphrase(make, sshd_server, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WIREPUB_TEST_SFTP_PASSPHRASE", sshd_server.key_passphrase)
    t = make(f"{tmp_path}/out", key_file=str(sshd_server.encrypted_client_key),
             key_passphrase_env="WIREPUB_TEST_SFTP_PASSPHRASE")
    t.put(Put("a.xml", b"a", XML))
    assert (tmp_path / "out/a.xml").read_bytes() == b"a"


def test_a_failed_rename_leaves_no_temporary_file(make, tmp_path):
    t = make(f"{tmp_path}/out")
    (tmp_path / "out/taken.xml").mkdir(parents=True)   # a folder where the document should go
    (tmp_path / "out/taken.xml/inside").write_text("keep")
    refused(t, Put("taken.xml", b"x", XML))
    assert sorted(os.listdir(tmp_path / "out")) == ["taken.xml"]
    assert (tmp_path / "out/taken.xml/inside").read_text() == "keep"


def test_a_file_in_the_way_of_a_folder_is_not_retried(make, tmp_path):
    t = make(f"{tmp_path}/out")
    t.put(Put("items", b"a file, not a folder", XML))
    error = refused(t, Put("items/a.xml", b"x", XML))
    assert not error.retryable and "a file has that name" in str(error)


def test_permission_denied_is_not_retried(make, sshd_server, tmp_path):  # noqa: F811
    (tmp_path / "out").mkdir()
    t = make("", url=sshd_server.url(f"{tmp_path}/out", port=sshd_server.readonly_port))
    for doc in (Put("a.xml", b"x", XML), Put("new/folder/a.xml", b"x", XML)):
        error = refused(t, doc)
        assert not error.retryable
        assert isinstance(error, Refused)
        assert "permission denied" in str(error).lower()
    assert os.listdir(tmp_path / "out") == []


# ---- host keys --------------------------------------------------------------------------------------------


def test_a_changed_host_key_is_refused_and_not_retried(make, sshd_server, tmp_path):  # noqa: F811
    t = make(f"{tmp_path}/out", known_hosts=str(sshd_server.wrong_known_hosts))
    error = refused(t)
    assert not error.retryable
    assert isinstance(error, Refused)
    message = str(error)
    assert f"[127.0.0.1]:{sshd_server.port}" in message
    assert "known_hosts" in message and str(sshd_server.wrong_known_hosts) in message
    assert "ssh-keyscan" in message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("policy", [None, "reject"])
def test_an_unknown_host_key_is_refused_by_default(make, sshd_server, tmp_path, policy):  # noqa: F811
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("# nothing known yet\n")
    for known_hosts in (empty, tmp_path / "missing_known_hosts"):
        t = make(f"{tmp_path}/out", known_hosts=str(known_hosts), host_key_policy=policy)
        error = refused(t)
        assert not error.retryable
        message = str(error)
        assert f"[127.0.0.1]:{sshd_server.port}" in message and "not in known_hosts" in message
        assert f"ssh-keyscan -p {sshd_server.port}" in message and str(known_hosts) in message
    assert empty.read_text() == "# nothing known yet\n"
    assert not (tmp_path / "missing_known_hosts").exists()
    assert not (tmp_path / "out").exists()


def test_accept_new_records_the_key_on_first_use(make, sshd_server, tmp_path):  # noqa: F811
    known_hosts = tmp_path / "ssh" / "known_hosts"
    t = make(f"{tmp_path}/out", known_hosts=str(known_hosts), host_key_policy="accept-new")
    t.put(Put("a.xml", b"a", XML))
    assert known_hosts.read_text() == f"[127.0.0.1]:{sshd_server.port} {sshd_server.host_key_line}\n"
    # Recorded: a strict transport now trusts the server, and a second accept-new adds nothing.
    make(f"{tmp_path}/out", known_hosts=str(known_hosts)).put(Put("b.xml", b"b", XML))
    make(f"{tmp_path}/out", known_hosts=str(known_hosts), host_key_policy="accept-new").probe()
    assert len(known_hosts.read_text().splitlines()) == 1
    assert sorted(os.listdir(tmp_path / "out")) == ["a.xml", "b.xml"]


def test_accept_new_still_refuses_a_changed_key(make, sshd_server, tmp_path):  # noqa: F811
    before = sshd_server.wrong_known_hosts.read_text()
    t = make(f"{tmp_path}/out", known_hosts=str(sshd_server.wrong_known_hosts), host_key_policy="accept-new")
    error = refused(t)
    assert not error.retryable
    assert "not the one in known_hosts" in str(error)
    assert sshd_server.wrong_known_hosts.read_text() == before


# ---- logging in -------------------------------------------------------------------------------------------


def test_a_key_the_server_does_not_know_is_an_authentication_failure(make, sshd_server, tmp_path):  # noqa: F811
    t = make(f"{tmp_path}/out", key_file=str(sshd_server.stranger_key))
    error = refused(t)
    assert not error.retryable
    assert isinstance(error, Refused)
    message = str(error)
    assert "refused the login" in message and "key_file" in message and str(sshd_server.stranger_key) in message


def test_an_encrypted_key_without_or_with_a_wrong_passphrase_is_not_retried(make, sshd_server, tmp_path,  # noqa: F811
                                                                            monkeypatch):
    t = make(f"{tmp_path}/out", key_file=str(sshd_server.encrypted_client_key))
    error = refused(t)
    assert not error.retryable and "key_passphrase_env" in str(error)
    monkeypatch.setenv("WIREPUB_TEST_SFTP_PASSPHRASE", "not-the-passphrase-1234")
    t = make(f"{tmp_path}/out", key_file=str(sshd_server.encrypted_client_key),
             key_passphrase_env="WIREPUB_TEST_SFTP_PASSPHRASE")
    error = refused(t)
    assert not error.retryable
    assert "not-the-passphrase-1234" not in str(error)


def test_a_missing_key_file_is_not_retried(make, tmp_path):
    error = refused(make(f"{tmp_path}/out", key_file="keys/none"))
    assert not error.retryable and str(tmp_path / "keys/none") in str(error)
    assert isinstance(error, Misconfigured)


def test_unset_or_empty_secret_variables_are_config_errors(sshd_server, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.delenv("WIREPUB_TEST_UNSET", raising=False)
    url = sshd_server.url(f"{tmp_path}/out")
    for option in ("password_env", "key_passphrase_env"):
        with pytest.raises(ConfigError, match=f"option {option} names the environment variable "
                                              "WIREPUB_TEST_UNSET, which is not set"):
            SFTPTransport(Destination(url, {"key_file": "k", option: "WIREPUB_TEST_UNSET"}), base_dir=tmp_path)
    monkeypatch.setenv("WIREPUB_TEST_EMPTY", "")
    with pytest.raises(ConfigError, match="WIREPUB_TEST_EMPTY, which is empty"):
        SFTPTransport(Destination(url, {"password_env": "WIREPUB_TEST_EMPTY"}), base_dir=tmp_path)
    # A value where a name belongs is not echoed back: it is probably the secret.
    with pytest.raises(ConfigError, match="must be the NAME") as caught:
        SFTPTransport(Destination(url, {"password_env": "hunter2 secret!"}), base_dir=tmp_path)
    assert "hunter2" not in str(caught.value)


# ---- reaching the server ----------------------------------------------------------------------------------


def test_a_closed_port_is_retryable(make, sshd_server, tmp_path):  # noqa: F811
    port = closed_port()
    t = make("", url=f"sftp://{sshd_server.user}@127.0.0.1:{port}{tmp_path}/out")
    error = refused(t)
    assert error.retryable
    assert isinstance(error, Unreachable)
    assert f"127.0.0.1:{port}" in str(error)


def test_a_server_that_says_nothing_times_out_retryably(make, sshd_server, tmp_path):  # noqa: F811
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts (in the kernel) but never speaks SSH
        port = silent.getsockname()[1]
        t = make("", url=f"sftp://{sshd_server.user}@127.0.0.1:{port}{tmp_path}/out", connect_timeout=0.5)
        error = refused(t)
    assert error.retryable


# ---- URLs and options -------------------------------------------------------------------------------------


def test_urls_and_locations(tmp_path):
    def parse(url: str) -> SFTPTransport:
        return SFTPTransport(Destination(url), base_dir=tmp_path)

    t = parse("sftp://acme@files.example.net:2222/incoming/wire/")
    assert (t.user, t.host, t.port, t.base) == ("acme", "files.example.net", 2222, "/incoming/wire")
    assert t.location == "sftp://acme@files.example.net:2222/incoming/wire"
    assert t.host_key_name == "[files.example.net]:2222"
    assert t.remote_path("items/a.xml") == "/incoming/wire/items/a.xml"
    t = parse("sftp://acme@files.example.net/~/wire")
    assert (t.port, t.base, t.host_key_name) == (22, "wire", "files.example.net")
    assert t.location == "sftp://acme@files.example.net:22/~/wire"
    assert t.remote_path("a.xml") == "wire/a.xml"
    t = parse("sftp://acme@files.example.net")
    assert t.remote_path("a.xml") == "a.xml" and t.location == "sftp://acme@files.example.net:22/~"
    assert parse("sftp://acme@files.example.net/").remote_path("a.xml") == "/a.xml"
    assert parse("sftp://acme@[2001:db8::1]:2200/x").location == "sftp://acme@[2001:db8::1]:2200/x"
    assert parse("sftp://acme@files.example.net/x").known_hosts == Path("~/.ssh/known_hosts").expanduser()


def test_a_password_in_the_url_is_refused_without_repeating_it(tmp_path):
    with pytest.raises(ConfigError, match="password_env") as caught:
        SFTPTransport(Destination("sftp://acme:Sw0rdfish@files.example.net/x"), base_dir=tmp_path)
    assert "Sw0rdfish" not in str(caught.value)


@pytest.mark.parametrize("url, options, match", [
    ("sftp://acme@files.example.net/x", {"pasword_env": "X"}, "unknown option"),
    ("sftp://acme@files.example.net/x", {"host_key_policy": "accept-all"}, "host_key_policy"),
    ("sftp://acme@files.example.net/x", {"connect_timeout": 0}, "connect_timeout"),
    ("sftp://acme@files.example.net/x", {"connect_timeout": 1e300}, "connect_timeout"),
    ("sftp://acme@files.example.net/x", {"io_timeout": float("inf")}, "io_timeout"),
    ("sftp://acme@files.example.net/x", {"known_hosts": "  "}, "known_hosts"),
    ("sftp://acme@files.example.net/x", {"temp_prefix": "tmp/"}, "temp_prefix"),
    ("sftp://acme@files.example.net/x?key=1", {}, "no query"),
    ("sftp://acme@files.example.net/../x", {}, r"'\.\.'"),
    ("sftp:///x", {}, "sftp://user@host"),
    ("sftp://acme@files.example.net:99999/x", {}, "port"),
])
def test_bad_urls_and_options_are_config_errors(tmp_path, url, options, match):
    with pytest.raises(ConfigError, match=match):
        SFTPTransport(Destination(url, options), base_dir=tmp_path)
