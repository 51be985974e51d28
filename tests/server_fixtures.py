"""pytest fixtures for the real servers of wirepub_testkit.servers (loaded by conftest.py's pytest_plugins, so
every test module can ask for them by name without importing them):

- ``http_receiver``, ``https_receiver``: a ``Receiver`` over HTTP, or over TLS (``receiver.ca_file``).
- ``s3_server`` (session): moto's S3 server; its endpoint URL. ``s3_bucket``: a fresh bucket on it, with
  ``aws_env`` in force. ``aws_env``: this test's AWS environment of dummy keys and nothing from this machine.
- ``s3_auth_server`` (session): a moto server enforcing IAM (``AuthS3``). ``scripted_s3``: a ``ScriptedS3``.
- ``sshd_server`` (session): OpenSSH's sshd (``SSHServer``).
- ``wordpress`` (session): a real WordPress 6.1 (``WordPress``: its URL, admin's application password, REST
  helpers), installed afresh on the MariaDB at 127.0.0.1:3306.
- ``ftp_server``, ``ftps_server`` (session): pyftpdlib servers (``FTPServerInfo``); a test that needs special
  settings calls ``wirepub_testkit.servers.ftp.start_ftp_server`` itself.
- ``no_proxies``: the proxy variables unset, so that nothing meant for 127.0.0.1 goes through a proxy.

Where a server cannot run on this machine (``ServerUnavailable``: sshd not installed, say), the test that
needs it is skipped and says why, whether it asked for a fixture or started the server itself.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wirepub_testkit.servers import ServerUnavailable
from wirepub_testkit.servers.ftp import FTPServerInfo, start_ftp_server
from wirepub_testkit.servers.http import Receiver, tls_receiver
from wirepub_testkit.servers.s3 import (
    AuthS3,
    MotoServer,
    ScriptedS3,
    admin_client,
    dummy_aws_env,
    start_auth_s3,
    start_scripted_s3,
)
from wirepub_testkit.servers.ssh import SSHServer, start_sshd
from wirepub_testkit.servers.wordpress import WordPress, start_wordpress

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


# ---- a server this machine cannot run skips the test that needs it --------------------------------------------

@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest) -> Any:
    try:
        return (yield)
    except ServerUnavailable as exc:
        pytest.skip(str(exc))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    try:
        return (yield)
    except ServerUnavailable as exc:
        pytest.skip(str(exc))


# ---- HTTP(S) --------------------------------------------------------------------------------------------------

@pytest.fixture
def http_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def https_receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    receiver = tls_receiver(tmp_path_factory.mktemp("receiver-ca"))
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpx honours the proxy variables; a proxy set on the machine running the tests must not carry
    # requests meant for 127.0.0.1.
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# ---- S3 -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield server.endpoint
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Dummy keys for the standard chain, and nothing else from this machine's AWS setup."""
    for name in list(os.environ):
        if name.startswith("AWS_") and name != "AWS_CA_BUNDLE":
            monkeypatch.delenv(name)
    env = dummy_aws_env(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def s3_bucket(s3_server: str, aws_env: dict[str, str]) -> str:
    name = f"wirepub-{uuid.uuid4().hex[:20]}"
    admin_client(s3_server).create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def s3_auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthS3]:
    with start_auth_s3(tmp_path_factory.mktemp("moto-auth") / "moto.log") as server:
        yield server


@pytest.fixture
def scripted_s3() -> Iterator[ScriptedS3]:
    with start_scripted_s3() as script:
        yield script


# ---- SSH, FTP and FTPS ----------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def sshd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    with start_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture(scope="session")
def ftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FTPServerInfo]:
    with start_ftp_server(tmp_path_factory.mktemp("ftp")) as server:
        yield server


@pytest.fixture(scope="session")
def ftps_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FTPServerInfo]:
    with start_ftp_server(tmp_path_factory.mktemp("ftps"), tls=True) as server:
        yield server


# ---- WordPress ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def wordpress() -> Iterator[WordPress]:
    """A real WordPress (Debian's package, served by php -S, on the MariaDB at 127.0.0.1:3306)."""
    with start_wordpress() as site:
        yield site
