"""OpenSSH's sshd on 127.0.0.1 for sftp:// destinations, with throwaway keys: ``start_sshd(root)`` yields an
``SSHServer`` (its ports, user, keys, known_hosts files) and stops it, and any connection it left, on leaving.

On a fresh Debian machine it needs the packages openssh-server (sshd) and openssh-client (ssh-keygen);
without them ``start_sshd`` raises ServerUnavailable. Nothing listens beyond 127.0.0.1, and every wait is
bounded.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wirepub_testkit.ports import LOCALHOST, free_port, wait_for_port
from wirepub_testkit.servers import ServerUnavailable

SSHD = "/usr/sbin/sshd"


PASSPHRASE = "correct horse battery staple"   # of the encrypted client key


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


def _preflight() -> None:
    """ServerUnavailable, saying what to install, where sshd cannot run here."""
    if not os.path.exists(SSHD):
        raise ServerUnavailable("OpenSSH sshd is not installed (Debian openssh-server); .ci/run installs it")
    if shutil.which("ssh-keygen") is None:
        raise ServerUnavailable("ssh-keygen is not installed (Debian openssh-client); .ci/run installs it")
    privsep = Path("/run/sshd")
    if not privsep.is_dir():
        try:
            privsep.mkdir(mode=0o755, parents=True)
        except OSError as exc:
            raise ServerUnavailable(f"sshd needs its privilege separation folder {privsep}, which cannot be "
                                    f"created here ({exc.strerror}); run as root, or create it") from exc


def _keys(root: Path, port: int, readonly_port: int) -> tuple[str, Path, Path]:
    """The host key, the clients' keys (one encrypted, one a stranger's) and the known_hosts files: the host
    key line, known_hosts and a known_hosts that names another key for the host."""
    host_key_line = _keygen(root / "host_ed25519.key", comment="wirepub-test-host")
    client_public = _keygen(root / "client.key")
    encrypted_public = _keygen(root / "client-encrypted.key", passphrase=PASSPHRASE)
    _keygen(root / "stranger.key")
    wrong_host_public = _keygen(root / "wrong-host.key", comment="not-the-host")
    authorized = root / "authorized_keys"
    authorized.write_text(f"{client_public}\n{encrypted_public}\n")
    authorized.chmod(0o600)
    known_hosts = root / "known_hosts"
    known_hosts.write_text(f"[{LOCALHOST}]:{port} {host_key_line}\n[{LOCALHOST}]:{readonly_port} {host_key_line}\n")
    wrong_known_hosts = root / "wrong_known_hosts"
    wrong_known_hosts.write_text(f"[{LOCALHOST}]:{port} {wrong_host_public}\n")
    return host_key_line, known_hosts, wrong_known_hosts


def _config(root: Path, port: int, readonly_port: int, user: str) -> Path:
    """sshd_config for two ports of 127.0.0.1 (the second read-only), keys only, checked by sshd -t."""
    config = root / "sshd_config"
    newer = []
    if _openssh_version() >= (9, 8):
        # Since 9.8 sshd shuts out an address for a while after failed logins; the tests fail some on purpose.
        newer.append("PerSourcePenalties no")
    config.write_text("\n".join([*newer,
        f"ListenAddress {LOCALHOST}", f"Port {port}", f"Port {readonly_port}",
        f"HostKey {root / 'host_ed25519.key'}", f"PidFile {root / 'sshd.pid'}",
        f"AuthorizedKeysFile {root / 'authorized_keys'}", "StrictModes no", "UsePAM no", "PermitRootLogin yes",
        "PubkeyAuthentication yes", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        "AuthenticationMethods publickey", f"AllowUsers {user}", "Subsystem sftp internal-sftp", "UseDNS no",
        "PrintMotd no", "MaxStartups 50", "MaxSessions 20", "LogLevel VERBOSE",
        f"Match LocalPort {readonly_port}", "    ForceCommand internal-sftp -R", "",
    ]))
    check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        raise RuntimeError(f"sshd refuses the test configuration {config}: {check.stderr.strip()}")
    return config


def _stop(process: subprocess.Popen[bytes]) -> None:
    """The listener first, then any per-connection process it left behind."""
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


@contextlib.contextmanager
def start_sshd(root: Path) -> Iterator[SSHServer]:
    """OpenSSH's sshd on two free ports of 127.0.0.1 (the second read-only), its keys, configuration and log
    in `root`; ended with its connections on leaving. ServerUnavailable where sshd cannot run here."""
    _preflight()
    user = getpass.getuser()
    port, readonly_port = free_port(), free_port()
    while readonly_port == port:
        readonly_port = free_port()
    host_key_line, known_hosts, wrong_known_hosts = _keys(root, port, readonly_port)
    config = _config(root, port, readonly_port, user)
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
                        client_key=root / "client.key", encrypted_client_key=root / "client-encrypted.key",
                        key_passphrase=PASSPHRASE, stranger_key=root / "stranger.key", known_hosts=known_hosts,
                        wrong_known_hosts=wrong_known_hosts, host_key_line=host_key_line, process=process)
    finally:
        _stop(process)
        log_file.close()
