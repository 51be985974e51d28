"""sftp:// destinations: a folder on a partner's SSH server, written over SFTP (paramiko).

    sftp://user@host/incoming/wire         documents land at /incoming/wire/<path>
    sftp://user@host:2222/~/wire           documents land at wire/<path> below the login folder
    sftp://user@host                        documents land at <path> below the login folder

As with curl, the URL's path is absolute; ``/~/`` at its start means the login (home) folder. Without a user
the URL means the user wirepub runs as; without a port, 22. The URL carries no password
(``sftp://user:secret@host`` is refused) and no query: settings go in the destination's options in
wirepub.toml (``Destination.options``), all optional:

``key_file``
    The private key to log in with (OpenSSH, PEM; Ed25519, ECDSA or RSA), e.g. ``"keys/acme_ed25519"``.
    A relative path is relative to wirepub.toml's folder. An OpenSSH certificate beside it
    (``<key_file>-cert.pub``) is offered with it.
``key_passphrase_env``
    The NAME of the environment variable holding the key's passphrase, for an encrypted key_file.
``password_env``
    The NAME of the environment variable holding the user's password, for servers that take passwords.
    With key_file too, the key is tried first. Without key_file and password_env, wirepub logs in as
    ``ssh`` would: with the keys of a running ssh-agent and ~/.ssh/id_*.
    A named variable that is unset or empty is a ConfigError; values never appear in messages or logs.
``known_hosts``
    The OpenSSH known_hosts file the server's host key is checked against (hashed names are fine).
    Default: ``~/.ssh/known_hosts``. Relative paths are relative to wirepub.toml's folder.
``host_key_policy``
    ``"reject"`` (default): a server whose key is not in known_hosts is refused; add its key first,
    after checking the fingerprint with the partner: ``ssh-keyscan -p PORT -t ed25519 HOST >> known_hosts``.
    ``"accept-new"``: trust on first use, as OpenSSH's ``StrictHostKeyChecking accept-new``: an unknown
    host's key is appended to known_hosts (and logged with its fingerprint). Under either policy a key
    that differs from the recorded one is refused: that is a reinstalled server or someone in between, and
    only a person can tell which.
``connect_timeout``
    Seconds to connect, exchange keys and log in; default 10.
``io_timeout``
    Seconds one SFTP operation may wait for the server once connected; default 60.
``temp_prefix``
    How temporary names start; default ``".wirepub-tmp-"``. A partner polling the folder should skip
    names with this prefix (the dot hides them from most listings; they never end in the document's
    own extension).

One SSH connection and SFTP channel per destination, opened at the first put and reused; put() may be
called from several threads and is serialised on it. A connection found dropped (idle timeout, server
restart) is reopened once, at once; anything longer is the delivery ledger's business.

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
import secrets
import socket
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import unquote, urlsplit

import paramiko

from wirepub.errors import ConfigError
from wirepub.transports import (
    DeliveryError,
    Destination,
    Put,
    seconds_option,
    secret_from_env,
    text_option,
)
from wirepub.vocabulary import PutKind

log = logging.getLogger(__name__)

OPTIONS = frozenset({
    "key_file", "key_passphrase_env", "password_env", "known_hosts", "host_key_policy",
    "connect_timeout", "io_timeout", "temp_prefix",
})
HOST_KEY_POLICIES = ("reject", "accept-new")
DEFAULT_PORT = 22
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_IO_TIMEOUT = 60.0
DEFAULT_TEMP_PREFIX = ".wirepub-tmp-"
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
PROBE_PATH = ".wirepub-probe"

_known_hosts_lock = threading.Lock()  # appends to a known_hosts file, across the transports of this process
T = TypeVar("T")


class _UnknownHostKey(Exception):
    """The server's host key is not in known_hosts and the policy is reject (or recording it failed)."""

    def __init__(self, name: str, key: Any, reason: str = "") -> None:
        super().__init__(name)
        self.name = name
        self.key = key
        self.reason = reason


class _Dropped(Exception):
    """The connection went away under an operation."""


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


class SFTPTransport:
    def __init__(self, destination: Destination, *, base_dir: Path) -> None:
        self.url = destination.url
        parts = urlsplit(destination.url)
        if parts.password is not None:
            shown = destination.url.replace(f":{parts.password}@", ":***@", 1)
            raise ConfigError(f"destination {shown}: an sftp:// URL must not carry a password; name an "
                              "environment variable in the destination's password_env option instead")
        if parts.scheme.lower() != "sftp" or not parts.hostname:
            raise ConfigError(f"destination {self.url!r}: an SFTP destination is sftp://user@host:port/path")
        if parts.query or parts.fragment or self.url.rstrip().endswith(("?", "#")):
            raise ConfigError(f"destination {self.url!r}: sftp:// URLs take no query or fragment; "
                              "settings go in the destination's options")
        try:
            self.port = parts.port or DEFAULT_PORT
        except ValueError:
            raise ConfigError(f"destination {self.url!r}: the port is not a number from 1 to 65535") from None
        self.host = parts.hostname
        self.user = unquote(parts.username) if parts.username else getpass.getuser()
        self.base = self._base_path(unquote(parts.path))
        shown_host = f"[{self.host}]" if ":" in self.host else self.host
        shown_path = self.base if self.base.startswith("/") else f"/~/{self.base}".rstrip("/")
        self.location = f"sftp://{self.user}@{shown_host}:{self.port}{shown_path}"
        # How OpenSSH and paramiko name this server in known_hosts.
        self.host_key_name = self.host if self.port == DEFAULT_PORT else f"[{self.host}]:{self.port}"

        options = dict(destination.options or {})
        unknown = sorted(set(options) - OPTIONS)
        if unknown:
            raise ConfigError(f"{self.url}: unknown option(s) {', '.join(unknown)} for an sftp:// destination "
                              f"(known: {', '.join(sorted(OPTIONS))})")
        key_file = text_option(self.url, options, "key_file")
        self.key_file = self._local_path(key_file, base_dir) if key_file else None
        known_hosts = text_option(self.url, options, "known_hosts") or DEFAULT_KNOWN_HOSTS
        self.known_hosts = self._local_path(known_hosts, base_dir)
        policy = options.get("host_key_policy", "reject")
        if policy not in HOST_KEY_POLICIES:
            raise ConfigError(f"{self.url}: option host_key_policy must be one of "
                              f"{', '.join(map(repr, HOST_KEY_POLICIES))}, not {policy!r}")
        self.host_key_policy: str = policy
        self.connect_timeout = seconds_option(self.url, options, "connect_timeout", DEFAULT_CONNECT_TIMEOUT)
        self.io_timeout = seconds_option(self.url, options, "io_timeout", DEFAULT_IO_TIMEOUT)
        self.temp_prefix = text_option(self.url, options, "temp_prefix") or DEFAULT_TEMP_PREFIX
        if "/" in self.temp_prefix or "\0" in self.temp_prefix:
            raise ConfigError(f"{self.url}: option temp_prefix must be a plain name prefix (no '/')")
        self._passphrase = secret_from_env(self.url, options, "key_passphrase_env")
        self._password = secret_from_env(self.url, options, "password_env")
        if self._passphrase is not None and self.key_file is None:
            raise ConfigError(f"{self.url}: option key_passphrase_env is for an encrypted key_file; "
                              "set key_file too")
        self._secrets = tuple(s for s in (self._passphrase, self._password) if s)

        self._lock = threading.Lock()
        self._client: Any = None
        self._sftp: Any = None
        self._pkey: Any = None
        self._orphans: list[str] = []   # temporary files a dropped connection kept us from removing

    # ---- options ----------------------------------------------------------------------------------------

    def _base_path(self, raw: str) -> str:
        """'' or 'a/b' (below the login folder), or '/' or '/a/b' (absolute)."""
        if "\0" in raw:
            raise ConfigError(f"destination {self.url!r}: the path must not contain NUL")
        relative = raw in ("", "/~") or raw.startswith("/~/")
        rest = raw[2:] if raw.startswith("/~") else raw
        segments = [s for s in rest.split("/") if s not in ("", ".")]
        if ".." in segments:
            raise ConfigError(f"destination {self.url!r}: the path must not contain '..' segments")
        joined = "/".join(segments)
        return joined if relative else "/" + joined

    @staticmethod
    def _local_path(value: str, base_dir: Path) -> Path:
        return base_dir / os.path.expanduser(value)

    # ---- paths ------------------------------------------------------------------------------------------

    def remote_path(self, path: str) -> str:
        """The server-side path of a document; refuses paths that are not plainly relative."""
        segments = path.split("/")
        if not path or any(s in ("", ".", "..") for s in segments) or "\0" in path:
            raise DeliveryError(f"{self.url}: path {path!r} is not a relative path below the destination "
                                "(no leading, trailing or doubled slashes, no . or .. segments)", retryable=False)
        return posixpath.join(self.base, path) if self.base else path

    def _temp_name(self, target: str) -> str:
        folder, name = posixpath.split(target)
        return posixpath.join(folder, f"{self.temp_prefix}{name[:100]}.{secrets.token_hex(6)}.tmp")

    # ---- the contract -----------------------------------------------------------------------------------

    def put(self, doc: Put) -> None:
        target = self.remote_path(doc.path)

        def write(sftp: Any) -> None:
            folder = posixpath.dirname(target)
            if folder:
                self._makedirs(sftp, folder)
            tmp = self._temp_name(target)
            try:
                with sftp.open(tmp, "wbx") as fh:
                    fh.set_pipelined(True)
                    fh.write(doc.data)
                size = sftp.stat(tmp).st_size
                if size != len(doc.data):
                    raise DeliveryError(f"{self.url}: cannot put {doc.path}: the server kept {size} of "
                                        f"{len(doc.data)} bytes of the temporary file {tmp}", retryable=True)
                self._rename(sftp, tmp, target)
            except BaseException:
                self._remove_quietly(sftp, tmp)
                raise

        self._run("put", doc.path, write)

    def delete(self, path: str) -> None:
        target = self.remote_path(path)

        def remove(sftp: Any) -> None:
            try:
                sftp.remove(target)
            except FileNotFoundError:
                pass
            except OSError:
                if not self._exists(sftp, target):  # some servers say "failure" for a missing file
                    return
                raise

        self._run("remove", path, remove)

    def probe(self) -> None:
        probe = Put(PROBE_PATH, b"wirepub probe\n", "text/plain", kind=PutKind.PROBE)
        self.put(probe)
        try:
            self.delete(probe.path)
        except DeliveryError as exc:
            raise DeliveryError(f"{exc} (the probe {self.remote_path(probe.path)} was written but could not be "
                                "removed: wirepub needs to remove files too, for withdrawn stories)",
                                retryable=exc.retryable) from None

    def close(self) -> None:
        with self._lock:
            self._disconnect()

    # ---- the connection ---------------------------------------------------------------------------------

    def _run(self, verb: str, path: str, operation: Callable[[Any], T]) -> T:
        """Run operation(sftp) on the shared connection, reconnecting once if a reused one dropped."""
        with self._lock:
            for attempt in (1, 2):
                reused = self._sftp is not None
                if reused and not self._alive():
                    self._disconnect()
                    reused = False
                if self._sftp is None:
                    self._connect(verb, path)
                try:
                    return operation(self._sftp)
                except DeliveryError:
                    raise
                except Exception as exc:
                    if not self._is_drop(exc):
                        self._operation_error(exc, verb, path)
                    self._disconnect()
                    if reused and attempt == 1:
                        log.info("sftp connection dropped, reconnecting location=%s error=%s",
                                 self.location, self._scrub(f"{type(exc).__name__}: {exc}"))
                        continue
                    raise DeliveryError(f"{self.url}: cannot {verb} {path}: the connection to {self._hostport()} "
                                        f"was lost ({self._describe(exc)}); will try again", retryable=True) from None
            raise AssertionError("unreachable")

    def _alive(self) -> bool:
        transport = self._client.get_transport() if self._client is not None else None
        return bool(transport is not None and transport.is_active() and self._sftp is not None
                    and not self._sftp.get_channel().closed)

    def _is_drop(self, exc: Exception) -> bool:
        if isinstance(exc, EOFError | paramiko.SSHException | TimeoutError | ConnectionError):
            return True
        return not self._alive()

    def _disconnect(self) -> None:
        sftp, client = self._sftp, self._client
        self._sftp = self._client = None
        for closing in (sftp, client):
            if closing is not None:
                with contextlib.suppress(Exception):
                    closing.close()

    def _connect(self, verb: str, path: str) -> None:
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
                self.host, self.port, username=self.user, password=self._password, pkey=self._key(),
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
            self._connect_error(exc, verb, path)
        self._client, self._sftp = client, sftp
        orphans, self._orphans = self._orphans, []
        for orphan in orphans:
            self._remove_quietly(sftp, orphan)

    def _key(self) -> Any:
        if self.key_file is None or self._pkey is not None:
            return self._pkey
        where = f"{self.url}: cannot log in: the private key {self.key_file} (option key_file)"
        try:
            passphrase = self._passphrase.encode() if self._passphrase is not None else None
            self._pkey = paramiko.PKey.from_path(self.key_file, passphrase)
        except FileNotFoundError:
            raise DeliveryError(f"{where} does not exist", retryable=False) from None
        except OSError as exc:
            raise DeliveryError(f"{where} cannot be read: {exc.strerror or exc}", retryable=False) from None
        except TypeError:  # cryptography: "Password was not given but private key is encrypted"
            raise DeliveryError(f"{where} is encrypted: name the environment variable holding its passphrase "
                                "in option key_passphrase_env", retryable=False) from None
        except (ValueError, paramiko.SSHException, paramiko.pkey.UnknownKeyType) as exc:
            hint = ("the passphrase in the environment variable named by key_passphrase_env does not open it, "
                    "or it is not a private key" if self._passphrase else "it is not a private key wirepub can use")
            raise DeliveryError(f"{where} cannot be loaded: {hint} ({type(exc).__name__})",
                                retryable=False) from None
        return self._pkey

    # ---- operations -------------------------------------------------------------------------------------

    def _exists(self, sftp: Any, path: str) -> bool:
        try:
            sftp.stat(path)
        except FileNotFoundError:
            return False
        return True

    def _makedirs(self, sftp: Any, folder: str) -> None:
        """mkdir -p, tolerating a folder made meanwhile by someone else."""
        try:
            attrs = sftp.stat(folder)
        except FileNotFoundError:
            pass
        else:
            if attrs.st_mode is not None and not stat.S_ISDIR(attrs.st_mode):
                raise DeliveryError(f"{self.url}: cannot create the folder {folder}: a file has that name",
                                    retryable=False)
            return
        parent = posixpath.dirname(folder)
        if parent and parent != folder:
            self._makedirs(sftp, parent)
        try:
            sftp.mkdir(folder)
        except OSError:
            attrs = None
            with contextlib.suppress(OSError):
                attrs = sftp.stat(folder)
            if attrs is None or attrs.st_mode is None or not stat.S_ISDIR(attrs.st_mode):
                raise

    def _rename(self, sftp: Any, tmp: str, target: str) -> None:
        try:
            sftp.posix_rename(tmp, target)
        except OSError as exc:
            if exc.errno is not None or "unsupported" not in str(exc).lower():
                raise
            # No posix-rename@openssh.com: SFTPv3's rename refuses an existing target.
            with contextlib.suppress(FileNotFoundError):
                sftp.remove(target)
            sftp.rename(tmp, target)

    def _remove_quietly(self, sftp: Any, path: str) -> None:
        """Remove a temporary file; if the connection is gone, remember it for the next connection."""
        if not self._alive():
            if path not in self._orphans:
                self._orphans.append(path)
            return
        try:
            sftp.remove(path)
        except FileNotFoundError:
            pass
        except Exception:
            if path not in self._orphans:
                self._orphans.append(path)

    # ---- errors -----------------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _describe(self, exc: BaseException) -> str:
        text = str(exc).strip()
        if isinstance(exc, TimeoutError) and not text:
            text = "timed out"
        return self._scrub(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)

    def _hostport(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def _keyscan(self) -> str:
        port = f"-p {self.port} " if self.port != DEFAULT_PORT else ""
        return f"ssh-keyscan {port}-t ed25519,ecdsa,rsa {self.host} >> {self.known_hosts}"

    def _connect_error(self, exc: Exception, verb: str, path: str) -> NoReturn:
        start = f"{self.url}: cannot {verb} {path}"
        if isinstance(exc, _UnknownHostKey):
            if exc.reason:
                raise DeliveryError(f"{start}: the host key of {exc.name} is not in known_hosts and {exc.reason}",
                                    retryable=False) from None
            raise DeliveryError(
                f"{start}: the host key of {exc.name} ({exc.key.get_name()} {_fingerprint(exc.key)}) is not in "
                f"known_hosts {self.known_hosts}, and host_key_policy is \"reject\": check that fingerprint "
                f"with the partner, then add the key: {self._keyscan()} (or set host_key_policy = "
                "\"accept-new\" to trust it on first use)", retryable=False) from None
        if isinstance(exc, paramiko.BadHostKeyException):
            raise DeliveryError(
                f"{start}: the host key of {self.host_key_name} ({exc.key.get_name()} {_fingerprint(exc.key)}) is "
                f"not the one in known_hosts {self.known_hosts} ({exc.expected_key.get_name()} "
                f"{_fingerprint(exc.expected_key)}): the server was reinstalled, or someone is in between. "
                "Nothing was sent. Confirm the new fingerprint with the partner, then replace the old key: "
                f"ssh-keygen -R '{self.host_key_name}' -f {self.known_hosts} && {self._keyscan()}",
                retryable=False) from None
        if isinstance(exc, paramiko.AuthenticationException) or (
                isinstance(exc, paramiko.SSHException) and "no authentication methods" in str(exc).lower()):
            if self.key_file is not None or self._password is not None:
                tried = " and ".join(x for x in (
                    f"the key in key_file {self.key_file}" if self.key_file else "",
                    "the password in the environment variable named by password_env" if self._password else "",
                ) if x)
                check = (f"check the user {self.user!r} in the URL and {tried} (options key_file, "
                         "key_passphrase_env, password_env); the partner must have the public key in the user's "
                         "authorized_keys")
            else:
                check = (f"no key_file or password_env is set, so wirepub offered ssh-agent's keys and ~/.ssh/id_*; "
                         f"check the user {self.user!r} in the URL, or set option key_file or password_env")
            raise DeliveryError(f"{start}: the server refused the login ({self._describe(exc)}): {check}",
                                retryable=False) from None
        if isinstance(exc, paramiko.IncompatiblePeer):
            raise DeliveryError(f"{start}: wirepub and the server share no key exchange, cipher or host key "
                                f"algorithm ({self._describe(exc)})", retryable=False) from None
        if isinstance(exc, socket.gaierror):
            raise DeliveryError(f"{start}: cannot resolve the host name {self.host!r} ({exc.strerror or exc})",
                                retryable=True) from None
        if isinstance(exc, FileNotFoundError | PermissionError) and exc.filename == str(self.known_hosts):
            raise DeliveryError(f"{start}: cannot read known_hosts {self.known_hosts}: {exc.strerror}",
                                retryable=False) from None
        # Refused, timed out, reset, closed during the key exchange, no SFTP subsystem yet: may mend.
        raise DeliveryError(f"{start}: cannot reach the SSH server at {self._hostport()} ({self._describe(exc)})",
                            retryable=True) from None

    def _operation_error(self, exc: Exception, verb: str, path: str) -> NoReturn:
        start = f"{self.url}: cannot {verb} {path}"
        if isinstance(exc, PermissionError) or (isinstance(exc, OSError) and exc.errno in (errno.EACCES,
                                                                                            errno.EPERM)):
            raise DeliveryError(f"{start}: permission denied ({self._describe(exc)}): the "
                                f"user {self.user!r} may not write there; ask the partner, or correct the "
                                "destination's path", retryable=False) from None
        if isinstance(exc, OSError):
            # The server's generic "failure" covers a full disk and a file in the way alike; try again later.
            raise DeliveryError(f"{start}: the server refused: {self._describe(exc)}",
                                retryable=True) from None
        raise DeliveryError(f"{start}: {self._describe(exc)}", retryable=True) from None
