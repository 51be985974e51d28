"""pyftpdlib FTP and explicit FTPS servers on 127.0.0.1 for ftp:// and ftps:// destinations.

``start_ftp_server(root, ...)`` yields an ``FTPServerInfo`` (its port, users, home folder, the CA of its
certificate) and stops it on leaving; options make a server for one test's needs (a short idle timeout, a
connection limit, a server that will not rename over an existing file). Nothing listens beyond 127.0.0.1,
and every wait is bounded.
"""

from __future__ import annotations

import contextlib
import importlib.util
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wirepub_testkit.ports import LOCALHOST, free_port_range, wait_for_port
from wirepub_testkit.servers import ServerUnavailable


@dataclass
class FTPServerInfo:
    scheme: str                  # "ftp" or "ftps"
    host: str
    port: int
    user: str
    password: str
    home: Path                   # the user's home, "/" on the server
    readonly_user: str
    readonly_password: str
    ca_file: Path | None         # the CA that signed the FTPS server's certificate
    handler: Any                 # the pyftpdlib handler class (its settings apply to new connections)
    server: Any = field(repr=False)

    def url(self, path: str = "", *, user: str | None = None, port: int | None = None) -> str:
        return f"{self.scheme}://{user or self.user}@{self.host}:{port or self.port}{path}"

    def set_write_delay(self, seconds: float) -> None:
        """Make the server write uploads slowly (a pause per chunk): a transfer that can be watched."""
        self.handler.write_delay = seconds

    def client(self) -> Any:
        """A plain ftplib client logged in as the user: a partner's view of the server."""
        import ftplib
        import ssl

        ftp: ftplib.FTP
        if self.scheme == "ftps":
            tls = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=str(self.ca_file)), timeout=10)
            tls.connect(self.host, self.port)
            tls.login(self.user, self.password)
            tls.prot_p()
            ftp = tls
        else:
            ftp = ftplib.FTP(timeout=10)
            ftp.connect(self.host, self.port)
            ftp.login(self.user, self.password)
        return ftp


class _SlowFile:
    """A file that pauses before each write, so an upload takes a while."""

    def __init__(self, file: Any, delay: float) -> None:
        self._file = file
        self._delay = delay

    def write(self, data: bytes) -> int:
        time.sleep(self._delay)
        return int(self._file.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


def _handler_classes(tls: bool, certfile: Path | None, idle_timeout: float,
                     refuse_rename_over_existing: bool) -> Any:
    from pyftpdlib.filesystems import AbstractedFS
    from pyftpdlib.handlers import FTPHandler

    class SlowWriteFS(AbstractedFS):  # type: ignore[misc]
        def open(self, filename: str, mode: str) -> Any:
            file = super().open(filename, mode)
            delay = getattr(self.cmd_channel, "write_delay", 0.0)
            return _SlowFile(file, delay) if delay and ("w" in mode or "a" in mode) else file

    base: Any = FTPHandler
    attrs: dict[str, Any] = {
        "abstracted_fs": SlowWriteFS,
        "timeout": idle_timeout,
        "auth_failed_timeout": 0.05,
        "write_delay": 0.0,
        "banner": "wirepub test FTP server ready.",
    }
    if tls:
        from pyftpdlib.handlers import TLS_FTPHandler

        base = TLS_FTPHandler
        attrs.update(certfile=str(certfile), keyfile=None, ssl_context=None,  # a context of its own
                     tls_control_required=True, tls_data_required=True)
    if refuse_rename_over_existing:
        def ftp_RNTO(self: Any, path: str) -> Any:  # noqa: N802 (pyftpdlib's naming)
            # As some servers (IIS among them) do: no renaming over an existing file.
            if self._rnfr and self.fs.lexists(path):
                self._rnfr = None
                self.respond("550 Cannot rename: the target file exists.")
                return None
            return base.ftp_RNTO(self, path)

        attrs["ftp_RNTO"] = ftp_RNTO
    return type("TestFTPHandler", (base,), attrs)


class _Serving:
    """A pyftpdlib server looping in a background thread until stop()."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="test-ftp-server", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=10)
        self.server.close_all()


def _server_class() -> Any:
    from pyftpdlib.servers import ThreadedFTPServer

    class Server(ThreadedFTPServer):  # type: ignore[misc]
        poll_timeout = 0.1

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            # pyftpdlib keeps these on the class: shared by every server in the process, so stopping one
            # would stop the others' connections. Each server gets its own.
            self._exit = threading.Event()
            self._lock = threading.Lock()
            super().__init__(*args, **kwargs)

    return Server


@contextlib.contextmanager
def start_ftp_server(root: Path, *, tls: bool = False, idle_timeout: float = 300,
                     max_cons: int = 0, refuse_rename_over_existing: bool = False) -> Iterator[FTPServerInfo]:
    """An FTP (or explicit FTPS, TLS required on control and data) server for one user, with home root/home."""
    needed = {"pyftpdlib": "pyftpdlib"} | ({"OpenSSL": "pyopenssl", "trustme": "trustme"} if tls else {})
    for module, package in needed.items():
        if importlib.util.find_spec(module) is None:
            raise ServerUnavailable(f"{package} is not installed: pip install {package} (wirepub's test extra)")
    from pyftpdlib.authorizers import DummyAuthorizer

    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    ca_file = certfile = None
    if tls:
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert(LOCALHOST)  # not "localhost": a test reaches it by that name and must be refused
        ca_file, certfile = root / "ca.pem", root / "server.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))

    authorizer = DummyAuthorizer()
    password = "Wire-Pass-1234"
    authorizer.add_user("wire", password, str(home), perm="elradfmwMT")
    authorizer.add_user("reader", "Read-Only-5678", str(home), perm="elr")
    handler = _handler_classes(tls, certfile, idle_timeout, refuse_rename_over_existing)
    handler.authorizer = authorizer
    handler.passive_ports = list(free_port_range(20))
    server = _server_class()((LOCALHOST, 0), handler)
    if max_cons:
        server.max_cons = max_cons
    port = int(server.address[1])
    serving = _Serving(server)
    try:
        wait_for_port(port, timeout=10)
        yield FTPServerInfo(scheme="ftps" if tls else "ftp", host=LOCALHOST, port=port, user="wire",
                            password=password, home=home, readonly_user="reader",
                            readonly_password="Read-Only-5678", ca_file=ca_file, handler=handler, server=server)
    finally:
        serving.stop()
