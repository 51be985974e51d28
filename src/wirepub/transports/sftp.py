"""sftp:// destinations: a folder on a partner's SSH server, written over SFTP (paramiko).

    sftp://user@host/incoming/wire         documents land at /incoming/wire/<path>
    sftp://user@host:2222/~/wire           documents land at wire/<path> below the login folder
    sftp://user@host                        documents land at <path> below the login folder

As with curl, the URL's path is absolute; ``/~/`` at its start means the login (home) folder. Without a user
the URL means the user wirepub runs as; without a port, 22. The URL carries no password
(``sftp://user:secret@host`` is refused) and no query: settings go in the destination's options in
wirepub.toml, described (and checked) by schemas/transports/sftp.schema.json. Without key_file and
password_env, wirepub logs in as ``ssh`` would: with the keys of a running ssh-agent and ~/.ssh/id_*.

The server's host key is checked against known_hosts. Under host_key_policy "reject" (the default) an unknown
host is refused; under "accept-new" its key is recorded on first use. A key that differs from the recorded
one is always refused: that is a reinstalled server or someone in between, and only a person can tell which.

One SSH connection and SFTP channel per destination, opened at the first put and reused (transports.remote).

put() creates missing folders, writes the bytes to a temporary name in the target's folder, checks its
size, and renames it over the target with ``posix-rename@openssh.com``, so a partner sees the old document
or the new one, never half of one. (On a server without that extension, the target is removed first and
the temporary file renamed into place: not atomic, but never half a file under the final name.)
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import logging
import os
import posixpath
import re
import socket
import stat
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import paramiko

from wirepub.clock import Clock
from wirepub.errors import ConfigError
from wirepub.transports import Destination, secret_from_env
from wirepub.transports.errors import Case, DeliveryError, ErrorTable, Misconfigured, Refused, Throttled, Unreachable
from wirepub.transports.remote import RemoteTransport

log = logging.getLogger(__name__)

_known_hosts_lock = threading.Lock()  # appends to a known_hosts file, across the transports of this process


class _UnknownHostKey(Exception):
    """The server's host key is not in known_hosts and the policy is reject (or recording it failed)."""

    def __init__(self, name: str, key: Any, reason: str = "") -> None:
        super().__init__(name)
        self.name = name
        self.key = key
        self.reason = reason


def _fingerprint(key: Any) -> str:
    return str(key.fingerprint)


class _RejectUnknown(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        raise _UnknownHostKey(hostname, key)


class _AcceptNew(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    """Trust on first use: append the unknown host's key to known_hosts (as OpenSSH's accept-new)."""

    def __init__(self, known_hosts: Path) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        line = paramiko.hostkeys.HostKeyEntry([hostname], key).to_line()
        try:
            with _known_hosts_lock:
                self.known_hosts.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                fd = os.open(self.known_hosts, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                with os.fdopen(fd, "a", encoding="ascii") as fh:
                    if fh.tell() > 0:
                        with open(self.known_hosts, "rb") as check:
                            check.seek(-1, os.SEEK_END)
                            if check.read(1) != b"\n":
                                fh.write("\n")
                    fh.write(line)
        except OSError as exc:
            raise _UnknownHostKey(hostname, key, f"cannot record it in {self.known_hosts}: "
                                                 f"{exc.strerror or exc}") from None
        log.warning("sftp host key recorded host=%s key_type=%s fingerprint=%s known_hosts=%s "
                    "policy=accept-new", hostname, key.get_name(), _fingerprint(key), self.known_hosts)


def _no_auth_methods(facts: Mapping[str, Any]) -> bool:
    return "no authentication methods" in str(facts["exc"]).lower()


LOGIN_REFUSED = "{start}: the server refused the login ({said}): {login_hint}"

# While connecting, checking the host key and logging in.
CONNECT_ERRORS = ErrorTable(
    Case(_UnknownHostKey, Refused, "{start}: the host key of {exc.name} is not in known_hosts and {exc.reason}",
         when=lambda facts: bool(facts["exc"].reason)),
    Case(_UnknownHostKey, Refused,
         "{start}: the host key of {exc.name} ({key_type} {fingerprint}) is not in known_hosts {known_hosts}, and "
         "host_key_policy is \"reject\": check that fingerprint with the partner, then add the key: {keyscan} (or "
         "set host_key_policy = \"accept-new\" to trust it on first use)"),
    Case(paramiko.BadHostKeyException, Refused,
         "{start}: the host key of {host_key_name} ({key_type} {fingerprint}) is not the one in known_hosts "
         "{known_hosts} ({expected_type} {expected_fingerprint}): the server was reinstalled, or someone is in "
         "between. Nothing was sent. Confirm the new fingerprint with the partner, then replace the old key: "
         "ssh-keygen -R '{host_key_name}' -f {known_hosts} && {keyscan}"),
    Case(paramiko.AuthenticationException, Refused, LOGIN_REFUSED),
    Case(paramiko.IncompatiblePeer, Misconfigured, "{start}: wirepub and the server share no key exchange, cipher "
         "or host key algorithm ({said})"),
    Case(paramiko.SSHException, Refused, LOGIN_REFUSED, when=_no_auth_methods),
    Case(socket.gaierror, Unreachable, "{start}: cannot resolve the host name {host!r} ({strerror})"),
    Case((FileNotFoundError, PermissionError), Misconfigured, "{start}: cannot read known_hosts {known_hosts}: "
         "{exc.strerror}", when=lambda facts: facts["exc"].filename == str(facts["known_hosts"])),
    # Refused, timed out, reset, closed during the key exchange, no SFTP subsystem yet: may mend.
    Case(Exception, Unreachable, "{start}: cannot reach the SSH server at {hostport} ({said})"),
)

PERMISSION_DENIED = ("{start}: permission denied ({said}): the user {user!r} may not write there; ask the partner, "
                     "or correct the destination's path")

# What an SFTP operation raised, the connection still up.
OPERATION_ERRORS = ErrorTable(
    Case(PermissionError, Refused, PERMISSION_DENIED),
    Case(OSError, Refused, PERMISSION_DENIED, codes={errno.EACCES, errno.EPERM}),
    # The server's generic "failure" covers a full disk and a file in the way alike; try again later.
    Case(OSError, Throttled, "{start}: the server refused: {said}"),
    Case(Exception, Unreachable, "{start}: {said}"),
)

KEY_ERRORS = ErrorTable(
    Case(FileNotFoundError, Misconfigured, "{where} does not exist"),
    Case(OSError, Misconfigured, "{where} cannot be read: {strerror}"),
    Case(TypeError, Misconfigured, "{where} is encrypted: name the environment variable holding its passphrase in "
         "option key_passphrase_env"),  # cryptography: "Password was not given but private key is encrypted"
    Case(Exception, Misconfigured, "{where} cannot be loaded: {key_hint} ({exc.__class__.__name__})"),
)


class SFTPTransport(RemoteTransport[Any]):
    SCHEMES = ("sftp",)
    URL_FORM = "an SFTP destination is sftp://user@host:port/path"
    DEFAULT_PORT = 22
    SCHEMA = "sftp"
    BAD_CHARS = re.compile(r"\0")
    BAD_CHARS_SAID = ""
    MISSING = (FileNotFoundError,)
    OPERATION_ERRORS = OPERATION_ERRORS

    def __init__(self, destination: Destination, *, base_dir: Path, clock: Clock | None = None) -> None:
        super().__init__(destination, base_dir=base_dir, clock=clock)
        # How OpenSSH and paramiko name this server in known_hosts.
        self.host_key_name = self.host if self.port == self.DEFAULT_PORT else f"[{self.host}]:{self.port}"
        key_file = self.options.get("key_file")
        self.key_file = base_dir / os.path.expanduser(key_file.strip()) if key_file else None
        self.known_hosts = base_dir / os.path.expanduser(self.options["known_hosts"].strip())
        self.host_key_policy: str = self.options["host_key_policy"]
        self._passphrase = secret_from_env(self.url, self.options, "key_passphrase_env")
        self._password = secret_from_env(self.url, self.options, "password_env")
        if self._passphrase is not None and self.key_file is None:
            raise ConfigError(f"{self.url}: option key_passphrase_env is for an encrypted key_file; "
                              "set key_file too")
        self._secrets = tuple(s for s in (self._passphrase, self._password) if s)
        self._client: Any = None
        self._pkey: Any = None

    def _default_user(self) -> str:
        return getpass.getuser()

    def _base_path(self, raw_path: str) -> str:
        """'' or 'a/b' (below the login folder), or '/' or '/a/b' (absolute)."""
        raw = unquote(raw_path)
        if "\0" in raw:
            raise ConfigError(f"destination {self.url!r}: the path must not contain NUL")
        relative = raw in ("", "/~") or raw.startswith("/~/")
        rest = raw[2:] if raw.startswith("/~") else raw
        segments = [s for s in rest.split("/") if s not in ("", ".")]
        if ".." in segments:
            raise ConfigError(f"destination {self.url!r}: the path must not contain '..' segments")
        joined = "/".join(segments)
        return joined if relative else "/" + joined

    def _shown_path(self) -> str:
        return self.base if self.base.startswith("/") else f"/~/{self.base}".rstrip("/")

    def _root(self) -> str:
        return self.base

    # ---- the connection ---------------------------------------------------------------------------------

    def _alive(self) -> bool:
        transport = self._client.get_transport() if self._client is not None else None
        return bool(transport is not None and transport.is_active() and self._conn is not None
                    and not self._conn.get_channel().closed)

    def _is_drop(self, exc: Exception) -> bool:
        return isinstance(exc, EOFError | paramiko.SSHException | TimeoutError | ConnectionError) or not self._alive()

    def _close(self, conn: Any, *, polite: bool) -> None:
        client, self._client = self._client, None
        for closing in (conn, client):
            if closing is not None:
                with contextlib.suppress(Exception):
                    closing.close()

    def _open(self, verb: str, path: str) -> Any:
        client = paramiko.SSHClient()
        try:
            if self.known_hosts.exists():
                client.load_system_host_keys(str(self.known_hosts))
            if self.host_key_policy == "accept-new":
                client.set_missing_host_key_policy(_AcceptNew(self.known_hosts))
            else:
                client.set_missing_host_key_policy(_RejectUnknown())
            own_keys = self.key_file is None and self._password is None
            client.connect(
                self.host, self.port, username=self.user, password=self._password, pkey=self._key(verb, path),
                timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout, channel_timeout=self.connect_timeout,
                allow_agent=own_keys, look_for_keys=own_keys,
            )
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(self.io_timeout)
        except DeliveryError:
            client.close()
            raise
        except Exception as exc:
            client.close()
            raise self._error(CONNECT_ERRORS, exc, verb, path) from None
        self._client = client
        return sftp

    def _key(self, verb: str, path: str) -> Any:
        if self.key_file is None or self._pkey is not None:
            return self._pkey
        try:
            passphrase = self._passphrase.encode() if self._passphrase is not None else None
            self._pkey = paramiko.PKey.from_path(self.key_file, passphrase)
        except (OSError, TypeError, ValueError, paramiko.SSHException, paramiko.pkey.UnknownKeyType) as exc:
            where = f"{self.url}: cannot log in: the private key {self.key_file} (option key_file)"
            raise self._error(KEY_ERRORS, exc, verb, path, where=where) from None
        return self._pkey

    # ---- operations -------------------------------------------------------------------------------------

    def _exists(self, sftp: Any, path: str) -> bool:
        try:
            sftp.stat(path)
        except FileNotFoundError:
            return False
        return True

    def _makedirs(self, conn: Any, folder: str) -> None:
        """mkdir -p, tolerating a folder made meanwhile by someone else."""
        try:
            attrs = conn.stat(folder)
        except FileNotFoundError:
            pass
        else:
            if attrs.st_mode is not None and not stat.S_ISDIR(attrs.st_mode):
                raise Refused(f"{self.url}: cannot create the folder {folder}: a file has that name")
            return
        parent = posixpath.dirname(folder)
        if parent and parent != folder:
            self._makedirs(conn, parent)
        try:
            conn.mkdir(folder)
        except OSError:
            attrs = None
            with contextlib.suppress(OSError):
                attrs = conn.stat(folder)
            if attrs is None or attrs.st_mode is None or not stat.S_ISDIR(attrs.st_mode):
                raise

    def _store(self, conn: Any, tmp: str, data: bytes) -> None:
        with conn.open(tmp, "wbx") as fh:
            fh.set_pipelined(True)
            fh.write(data)

    def _size(self, conn: Any, path: str) -> int | None:
        size: int = conn.stat(path).st_size
        return size

    def _rename(self, conn: Any, tmp: str, target: str) -> None:
        try:
            conn.posix_rename(tmp, target)
        except OSError as exc:
            if exc.errno is not None or "unsupported" not in str(exc).lower():
                raise
            # No posix-rename@openssh.com: SFTPv3's rename refuses an existing target.
            with contextlib.suppress(FileNotFoundError):
                conn.remove(target)
            conn.rename(tmp, target)

    def _remove(self, conn: Any, target: str) -> None:
        try:
            conn.remove(target)
        except FileNotFoundError:
            pass
        except OSError:
            if self._exists(conn, target):  # some servers say "failure" for a missing file
                raise

    def _remove_file(self, conn: Any, path: str) -> None:
        conn.remove(path)

    def _listing(self, conn: Any, folder: str) -> Iterable[tuple[str, float | None]]:
        """READDIR's regular files (a symlink is not one: OpenSSH gives lstat's attributes) and their mtimes."""
        return [(a.filename, None if a.st_mtime is None else float(a.st_mtime))
                for a in conn.listdir_attr(folder or ".") if a.st_mode is not None and stat.S_ISREG(a.st_mode)]

    # ---- errors -----------------------------------------------------------------------------------------

    def _code(self, exc: BaseException) -> Any:
        return getattr(exc, "errno", None)

    def _lazy_facts(self, exc: BaseException) -> Mapping[str, Callable[[], Any]]:
        key: Any = getattr(exc, "key", None)
        expected: Any = getattr(exc, "expected_key", None)
        return {
            "known_hosts": lambda: self.known_hosts, "host_key_name": lambda: self.host_key_name,
            "keyscan": self._keyscan, "login_hint": self._login_hint, "key_hint": self._key_hint,
            "key_type": lambda: key.get_name(), "fingerprint": lambda: _fingerprint(key),
            "expected_type": lambda: expected.get_name(), "expected_fingerprint": lambda: _fingerprint(expected),
        }

    def _keyscan(self) -> str:
        port = f"-p {self.port} " if self.port != self.DEFAULT_PORT else ""
        return f"ssh-keyscan {port}-t ed25519,ecdsa,rsa {self.host} >> {self.known_hosts}"

    def _key_hint(self) -> str:
        if self._passphrase:
            return ("the passphrase in the environment variable named by key_passphrase_env does not open it, or it "
                    "is not a private key")
        return "it is not a private key wirepub can use"

    def _login_hint(self) -> str:
        if self.key_file is None and self._password is None:
            return (f"no key_file or password_env is set, so wirepub offered ssh-agent's keys and ~/.ssh/id_*; "
                    f"check the user {self.user!r} in the URL, or set option key_file or password_env")
        tried = " and ".join(x for x in (
            f"the key in key_file {self.key_file}" if self.key_file else "",
            "the password in the environment variable named by password_env" if self._password else "",
        ) if x)
        return (f"check the user {self.user!r} in the URL and {tried} (options key_file, key_passphrase_env, "
                "password_env); the partner must have the public key in the user's authorized_keys")
