"""Real SSH (OpenSSH's sshd) and FTP/FTPS (pyftpdlib) servers on 127.0.0.1, started and stopped by the tests.

Fixtures: ``sshd_server`` (session), ``ftp_server`` and ``ftps_server`` (session). ``start_ftp_server`` runs
a server with special settings for a single test (a short idle timeout, a connection limit, a server that
will not rename over an existing file). Nothing listens beyond 127.0.0.1, and every wait is bounded.

On a fresh Debian machine the SSH tests need the packages openssh-server (sshd) and openssh-client
(ssh-keygen); without sshd they are skipped.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

SSHD = "/usr/sbin/sshd"
LOCALHOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def free_port_range(count: int) -> range:
    """count consecutive ports that are free now (for pyftpdlib's passive ports)."""
    for _ in range(200):
        start = free_port()
        if start + count > 65535:
            continue
        taken = []
        try:
            for port in range(start, start + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                taken.append(sock)
                sock.bind((LOCALHOST, port))
        except OSError:
            continue
        finally:
            for sock in taken:
                sock.close()
        return range(start, start + count)
    raise RuntimeError(f"no {count} consecutive free ports on {LOCALHOST}")


def wait_for_port(port: int, *, timeout: float, alive: Callable[[], str | None] = lambda: None) -> None:
    """Until something accepts on 127.0.0.1:port; alive() returns why the server died, if it did."""
    deadline = time.monotonic() + timeout
    while True:
        died = alive()
        if died is not None:
            raise RuntimeError(died)
        try:
            with socket.create_connection((LOCALHOST, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {LOCALHOST}:{port} after {timeout}s") from None
            time.sleep(0.05)


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    return free_port()


# ---- SSH ---------------------------------------------------------------------------------------------------


@dataclass
class SSHServer:
    host: str
    port: int
    readonly_port: int           # the same server, but its SFTP refuses every change (internal-sftp -R)
    user: str
    root: Path                   # the server's temporary folder (keys, config, log)
    client_key: Path             # authorized, no passphrase
    encrypted_client_key: Path   # authorized, passphrase below
    key_passphrase: str
    stranger_key: Path           # a valid key the server does not know
    known_hosts: Path            # "[127.0.0.1]:PORT ssh-ed25519 <the server's key>"
    wrong_known_hosts: Path      # the same name with another key
    host_key_line: str           # "ssh-ed25519 AAAA..."
    process: subprocess.Popen[bytes]

    def url(self, path: str, *, port: int | None = None) -> str:
        return f"sftp://{self.user}@{self.host}:{port or self.port}{path}"

    def log(self) -> str:
        return (self.root / "sshd.log").read_text(errors="replace")

    def drop_connections(self) -> int:
        """Kill the per-connection processes of this sshd (not the listener): every session drops."""
        victims = _descendants(self.process.pid)
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(victims)


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_line = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may hold spaces and parentheses
        fields = stat_line.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(fields[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found.extend(children)
        frontier.extend(children)
    return found


def _keygen(path: Path, *, passphrase: str = "", comment: str = "wirepub-test") -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", comment, "-f", str(path)],
                   check=True, capture_output=True, timeout=30)
    kind, blob = Path(f"{path}.pub").read_text().split()[:2]
    return f"{kind} {blob}"


def _openssh_version() -> tuple[int, int]:
    """(major, minor) of the installed sshd; it prints its version in its usage message."""
    import re

    said = subprocess.run([SSHD, "-V"], capture_output=True, text=True, timeout=30)
    found = re.search(r"OpenSSH_(\d+)\.(\d+)", said.stdout + said.stderr)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


@pytest.fixture(scope="session")
def sshd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    if not os.path.exists(SSHD):
        pytest.skip("OpenSSH sshd is not installed (Debian openssh-server); .ci/run installs it")
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed (Debian openssh-client); .ci/run installs it")
    privsep = Path("/run/sshd")
    if not privsep.is_dir():
        try:
            privsep.mkdir(mode=0o755, parents=True)
        except OSError as exc:
            pytest.skip(f"sshd needs its privilege separation folder {privsep}, which cannot be created here "
                        f"({exc.strerror}); run as root, or create it")
    root = tmp_path_factory.mktemp("sshd")
    user = getpass.getuser()
    host_key_line = _keygen(root / "host_ed25519.key", comment="wirepub-test-host")
    client_public = _keygen(root / "client.key")
    encrypted_public = _keygen(root / "client-encrypted.key", passphrase="correct horse battery staple")
    _keygen(root / "stranger.key")
    wrong_host_public = _keygen(root / "wrong-host.key", comment="not-the-host")
    authorized = root / "authorized_keys"
    authorized.write_text(f"{client_public}\n{encrypted_public}\n")
    authorized.chmod(0o600)

    port, readonly_port = free_port(), free_port()
    while readonly_port == port:
        readonly_port = free_port()
    known_hosts = root / "known_hosts"
    known_hosts.write_text(f"[{LOCALHOST}]:{port} {host_key_line}\n[{LOCALHOST}]:{readonly_port} {host_key_line}\n")
    wrong_known_hosts = root / "wrong_known_hosts"
    wrong_known_hosts.write_text(f"[{LOCALHOST}]:{port} {wrong_host_public}\n")
    config = root / "sshd_config"
    newer = []
    if _openssh_version() >= (9, 8):
        # Since 9.8 sshd shuts out an address for a while after failed logins; the tests fail some on purpose.
        newer.append("PerSourcePenalties no")
    config.write_text("\n".join([*newer,
        f"ListenAddress {LOCALHOST}",
        f"Port {port}",
        f"Port {readonly_port}",
        f"HostKey {root / 'host_ed25519.key'}",
        f"PidFile {root / 'sshd.pid'}",
        f"AuthorizedKeysFile {authorized}",
        "StrictModes no",
        "UsePAM no",
        "PermitRootLogin yes",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "AuthenticationMethods publickey",
        f"AllowUsers {user}",
        "Subsystem sftp internal-sftp",
        "UseDNS no",
        "PrintMotd no",
        "MaxStartups 50",
        "MaxSessions 20",
        "LogLevel VERBOSE",
        f"Match LocalPort {readonly_port}",
        "    ForceCommand internal-sftp -R",
        "",
    ]))
    check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        raise RuntimeError(f"sshd refuses the test configuration {config}: {check.stderr.strip()}")

    log_file = open(root / "sshd.log", "wb")  # noqa: SIM115 (closed at teardown)
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdin=subprocess.DEVNULL,
                               stdout=log_file, stderr=subprocess.STDOUT)

    def died() -> str | None:
        if process.poll() is None:
            return None
        return f"sshd exited with {process.returncode}: {(root / 'sshd.log').read_text(errors='replace')}"

    try:
        wait_for_port(port, timeout=15, alive=died)
        wait_for_port(readonly_port, timeout=15, alive=died)
        yield SSHServer(host=LOCALHOST, port=port, readonly_port=readonly_port, user=user, root=root,
                        client_key=root / "client.key",
                        encrypted_client_key=root / "client-encrypted.key",
                        key_passphrase="correct horse battery staple", stranger_key=root / "stranger.key",
                        known_hosts=known_hosts, wrong_known_hosts=wrong_known_hosts,
                        host_key_line=host_key_line, process=process)
    finally:
        # The listener first, then any per-connection process it left behind.
        leftovers = _descendants(process.pid)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        log_file.close()


# ---- FTP and FTPS ------------------------------------------------------------------------------------------


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
    pytest.importorskip("pyftpdlib")
    from pyftpdlib.authorizers import DummyAuthorizer

    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    ca_file = certfile = None
    if tls:
        pytest.importorskip("OpenSSL", reason="pyftpdlib's FTPS needs pyopenssl")
        trustme = pytest.importorskip("trustme")
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


@pytest.fixture(scope="session")
def ftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FTPServerInfo]:
    with start_ftp_server(tmp_path_factory.mktemp("ftp")) as server:
        yield server


@pytest.fixture(scope="session")
def ftps_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FTPServerInfo]:
    with start_ftp_server(tmp_path_factory.mktemp("ftps"), tls=True) as server:
        yield server


# ---- watching a folder while a document is written -----------------------------------------------------


class FolderWatcher:
    """Lists a folder in a loop in a background thread, recording every (name, size) it sees.

    list_folder() returns {name: size}; it may raise OSError (or an ftplib error) while the folder does
    not exist yet. The loop ends at stop() or after `limit` seconds, whichever comes first.
    """

    def __init__(self, list_folder: Callable[[], dict[str, int]], *, limit: float = 60) -> None:
        self._list = list_folder
        self._limit = limit
        self._stop = threading.Event()
        self.seen: list[tuple[str, int]] = []
        self.rounds = 0
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, name="folder-watcher", daemon=True)

    def __enter__(self) -> FolderWatcher:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join(timeout=self._limit + 10)

    def _run(self) -> None:
        deadline = time.monotonic() + self._limit
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                listing = self._list()
            except Exception as exc:  # the folder is not there yet; keep looking
                if len(self.errors) < 20:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.001)
                continue
            self.rounds += 1
            self.seen.extend(listing.items())


def local_listing(folder: Path) -> Callable[[], dict[str, int]]:
    def listing() -> dict[str, int]:
        found = {}
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    found[entry.name] = entry.stat().st_size
                except FileNotFoundError:  # renamed away between the listing and the stat
                    continue
        return found

    return listing
