"""ftp:// and ftps:// destinations: a folder on a partner's FTP server (stdlib ftplib).

    ftp://user@host/incoming/wire          documents land at incoming/wire/<path> below the login folder
    ftps://user@host:2121/wire             the same over explicit TLS (AUTH TLS, then PROT P)
    ftp://user@host/%2Fsrv/wire            documents land at /srv/wire/<path> (absolute: %2F, as in curl)

As RFC 1738 and curl have it, the URL's path is relative to the login folder; a leading ``%2F`` makes it
absolute. Without a user, ``anonymous``; without a port, 21. ``ftps://`` is explicit FTPS (RFC 4217) on the
ordinary port: the control connection is secured with AUTH TLS before logging in and every data connection
with PROT P; the server's certificate and name are verified. (Implicit FTPS on port 990 is not supported.)
Plain ``ftp://`` sends the password and the documents in the clear: use it on trusted networks only.

The URL carries no password (``ftp://user:secret@host`` is refused) and no query: settings go in the
destination's options in wirepub.toml (``Destination.options``), all optional:

``password_env``
    The NAME of the environment variable holding the user's password. A named variable that is unset or
    empty is a ConfigError; values never appear in messages or logs. Without it: no password (anonymous
    logins send ``anonymous@``).
``ca_file``
    ftps:// only: a PEM file of the CA certificate(s) to trust instead of the system's, for a partner
    whose server has a certificate from a private CA. Verification is always on.
``connect_timeout``
    Seconds to connect, secure and log in; default 10.
``io_timeout``
    Seconds one command or transfer may wait for the server once logged in; default 60.
``passive``
    Passive mode (the client opens the data connections), default true. ``false`` for active mode, where
    the server connects back to wirepub (rarely possible through firewalls and NAT).
``temp_prefix``
    How temporary names start; default ``".wirepub-tmp-"``. A partner polling the folder should skip
    names with this prefix (they never end in the document's own extension).

One control connection per destination, opened at the first put and reused; put() may be called from
several threads and is serialised on it. A connection found dropped (the server's idle timeout, a restart)
is reopened once, at once; anything longer is the delivery ledger's business.

put() creates missing folders (MKD, level by level), STORes the bytes under a temporary name in the target's
folder, checks the size where the server answers SIZE, and renames it (RNFR/RNTO) to the final name, so a
partner sees the old document or the new one, never half of one. A server that will not rename over an
existing file gets the target deleted first (a moment without the document, never half of it).
"""

from __future__ import annotations

import contextlib
import ftplib
import io
import logging
import posixpath
import re
import secrets
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast
from urllib.parse import unquote, urlsplit

from wirepub.errors import ConfigError
from wirepub.transports import (
    DeliveryError,
    Destination,
    Put,
    ca_context,
    seconds_option,
    secret_from_env,
)
from wirepub.vocabulary import PutKind

log = logging.getLogger(__name__)

OPTIONS = frozenset({"password_env", "ca_file", "connect_timeout", "io_timeout", "passive", "temp_prefix"})
DEFAULT_PORT = 21
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_IO_TIMEOUT = 60.0
DEFAULT_TEMP_PREFIX = ".wirepub-tmp-"
PROBE_PATH = ".wirepub-probe"
BLOCK_SIZE = 64 * 1024

_BAD_PATH_CHARS = re.compile(r"[\r\n\0]")
T = TypeVar("T")


class _FTP_TLS(ftplib.FTP_TLS):  # noqa: N801 (after ftplib's own name)
    """FTP_TLS whose data connections resume the control connection's TLS session.

    Many servers (vsftpd's require_ssl_reuse, FileZilla Server, ProFTPD's TLSOptions) refuse a data
    connection that does not, as a guard against a stolen data connection; ftplib does not on its own.
    """

    def ntransfercmd(self, cmd: str, rest: int | str | None = None) -> tuple[socket.socket, int | None]:
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if getattr(self, "_prot_p", False):
            control = cast(ssl.SSLSocket, self.sock)
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=control.session)
        return conn, size


def _reply_code(exc: BaseException) -> str:
    text = str(exc)
    return text[:3] if text[:3].isdigit() else ""


class FTPTransport:
    def __init__(self, destination: Destination, *, base_dir: Path) -> None:
        self.url = destination.url
        parts = urlsplit(destination.url)
        if parts.password is not None:
            shown = destination.url.replace(f":{parts.password}@", ":***@", 1)
            raise ConfigError(f"destination {shown}: an {parts.scheme}:// URL must not carry a password; name an "
                              "environment variable in the destination's password_env option instead")
        self.scheme = parts.scheme.lower()
        if self.scheme not in ("ftp", "ftps") or not parts.hostname:
            raise ConfigError(f"destination {self.url!r}: an FTP destination is ftp://user@host:port/path "
                              "or ftps://user@host:port/path")
        if parts.query or parts.fragment or self.url.rstrip().endswith(("?", "#")):
            raise ConfigError(f"destination {self.url!r}: {self.scheme}:// URLs take no query or fragment; "
                              "settings go in the destination's options")
        try:
            self.port = parts.port or DEFAULT_PORT
        except ValueError:
            raise ConfigError(f"destination {self.url!r}: the port is not a number from 1 to 65535") from None
        self.host = parts.hostname
        self.user = unquote(parts.username) if parts.username else "anonymous"
        if _BAD_PATH_CHARS.search(self.user):
            raise ConfigError(f"destination {self.url!r}: the user name must not contain line breaks")
        self.base = self._base_path(parts.path)
        shown_host = f"[{self.host}]" if ":" in self.host else self.host
        shown_path = f"/%2F{self.base[1:]}" if self.base.startswith("/") else f"/{self.base}"
        self.location = f"{self.scheme}://{self.user}@{shown_host}:{self.port}{shown_path}".rstrip("/")

        options = dict(destination.options or {})
        unknown = sorted(set(options) - OPTIONS)
        if unknown:
            raise ConfigError(f"{self.url}: unknown option(s) {', '.join(unknown)} for an {self.scheme}:// "
                              f"destination (known: {', '.join(sorted(OPTIONS))})")
        self.connect_timeout = seconds_option(self.url, options, "connect_timeout", DEFAULT_CONNECT_TIMEOUT)
        self.io_timeout = seconds_option(self.url, options, "io_timeout", DEFAULT_IO_TIMEOUT)
        passive = options.get("passive", True)
        if not isinstance(passive, bool):
            raise ConfigError(f"{self.url}: option passive must be true or false")
        self.passive = passive
        temp_prefix = options.get("temp_prefix", DEFAULT_TEMP_PREFIX)
        if not isinstance(temp_prefix, str) or not temp_prefix.strip() or "/" in temp_prefix \
                or _BAD_PATH_CHARS.search(temp_prefix):
            raise ConfigError(f"{self.url}: option temp_prefix must be a plain name prefix (no '/')")
        self.temp_prefix = temp_prefix
        self.ca_file: Path | None = None
        self._context: ssl.SSLContext | None = None
        ca_file = options.get("ca_file")
        if ca_file is not None and self.scheme != "ftps":
            raise ConfigError(f"{self.url}: option ca_file is for ftps:// destinations (this one is plain FTP)")
        if self.scheme == "ftps":
            self._context, self.ca_file = ca_context(self.url, ca_file, base_dir)
        self._password = self._secret(options, "password_env")
        self._password_env = options.get("password_env")

        self._lock = threading.Lock()
        self._ftp: ftplib.FTP | None = None
        self._root = ""                  # the base folder as an absolute path, once connected
        self._orphans: list[str] = []    # temporary files a dropped connection kept us from removing

    # ---- options ----------------------------------------------------------------------------------------

    def _base_path(self, raw_path: str) -> str:
        """'a/b' (below the login folder) or '/a/b' (absolute, from a leading %2F)."""
        raw = raw_path[1:] if raw_path.startswith("/") else raw_path
        absolute = raw[:3].upper() == "%2F"
        text = unquote(raw)
        if _BAD_PATH_CHARS.search(text):
            raise ConfigError(f"destination {self.url!r}: the path must not contain line breaks or NUL")
        segments = [s for s in text.split("/") if s not in ("", ".")]
        if ".." in segments:
            raise ConfigError(f"destination {self.url!r}: the path must not contain '..' segments")
        joined = "/".join(segments)
        return "/" + joined if absolute else joined

    def _secret(self, options: Mapping[str, Any], option: str) -> str | None:
        value = secret_from_env(self.url, options, option)
        if value is not None and _BAD_PATH_CHARS.search(value):
            name = options[option]
            raise ConfigError(f"{self.url}: the environment variable {name} (option {option}) holds a line break; "
                              "an FTP password cannot")
        return value

    # ---- paths ------------------------------------------------------------------------------------------

    def remote_path(self, path: str) -> str:
        """The server-side path of a document, below the base folder; refuses anything not plainly relative."""
        segments = path.split("/")
        if not path or any(s in ("", ".", "..") for s in segments) or _BAD_PATH_CHARS.search(path):
            raise DeliveryError(f"{self.url}: path {path!r} is not a relative path below the destination "
                                "(no leading, trailing or doubled slashes, no . or .. segments, no line breaks)",
                                retryable=False)
        return posixpath.join(self._root, path) if self._root else path

    def _temp_name(self, target: str) -> str:
        folder, name = posixpath.split(target)
        return posixpath.join(folder, f"{self.temp_prefix}{name[:100]}.{secrets.token_hex(6)}.tmp")

    # ---- the contract -----------------------------------------------------------------------------------

    def put(self, doc: Put) -> None:
        self.remote_path(doc.path)  # refuse a bad path before connecting

        def write(ftp: ftplib.FTP) -> None:
            target = self.remote_path(doc.path)
            folder = posixpath.dirname(target)
            if folder:
                self._makedirs(ftp, folder)
            tmp = self._temp_name(target)
            try:
                ftp.storbinary(f"STOR {tmp}", io.BytesIO(doc.data), blocksize=BLOCK_SIZE)
                size = self._size(ftp, tmp)
                if size is not None and size != len(doc.data):
                    raise DeliveryError(f"{self.url}: cannot put {doc.path}: the server kept {size} of "
                                        f"{len(doc.data)} bytes of the temporary file {tmp}", retryable=True)
                self._rename(ftp, tmp, target)
            except BaseException:
                self._remove_quietly(ftp, tmp)
                raise

        self._run("put", doc.path, write)

    def delete(self, path: str) -> None:
        self.remote_path(path)

        def remove(ftp: ftplib.FTP) -> None:
            target = self.remote_path(path)
            try:
                ftp.delete(target)
            except ftplib.error_perm:
                # 550 means "no such file" and "not allowed" alike: look.
                if self._listed(ftp, target):
                    raise

        self._run("remove", path, remove)

    def probe(self) -> None:
        probe = Put(PROBE_PATH, b"wirepub probe\n", "text/plain", kind=PutKind.PROBE)
        self.put(probe)
        try:
            self.delete(probe.path)
        except DeliveryError as exc:
            raise DeliveryError(f"{exc} (the probe {probe.path} was written but could not be removed: wirepub "
                                "needs to delete files too, for withdrawn stories)", retryable=exc.retryable) from None

    def close(self) -> None:
        with self._lock:
            self._disconnect(polite=True)

    # ---- the connection ---------------------------------------------------------------------------------

    def _run(self, verb: str, path: str, operation: Callable[[ftplib.FTP], T]) -> T:
        """Run operation(ftp) on the shared connection, reconnecting once if a reused one dropped."""
        with self._lock:
            for attempt in (1, 2):
                reused = self._ftp is not None
                if self._ftp is None:
                    self._connect(verb, path)
                ftp = cast(ftplib.FTP, self._ftp)
                try:
                    return operation(ftp)
                except DeliveryError:
                    raise
                except (ftplib.error_perm, ftplib.error_temp) as exc:
                    if _reply_code(exc) != "421":  # the server answered; the connection is fine
                        self._reply_error(exc, verb, path)
                    dropped: Exception = exc
                except ssl.SSLCertVerificationError as exc:  # cannot happen once connected; but never retry it
                    self._disconnect()
                    self._connect_error(exc, verb, path)
                except Exception as exc:  # EOF, reset, timeout, a garbled reply: the connection is unusable
                    dropped = exc
                self._disconnect()
                if reused and attempt == 1:
                    log.info("ftp connection dropped, reconnecting location=%s error=%s",
                             self.location, self._describe(dropped))
                    continue
                raise DeliveryError(f"{self.url}: cannot {verb} {path}: the connection to {self._hostport()} was "
                                    f"lost ({self._describe(dropped)}); will try again", retryable=True) from None
            raise AssertionError("unreachable")

    def _disconnect(self, *, polite: bool = False) -> None:
        ftp, self._ftp = self._ftp, None
        if ftp is None:
            return
        if polite:
            with contextlib.suppress(Exception):
                ftp.quit()
        with contextlib.suppress(Exception):
            ftp.close()

    def _connect(self, verb: str, path: str) -> None:
        ftp: ftplib.FTP
        if self._context is not None:
            ftp = _FTP_TLS(context=self._context, timeout=self.connect_timeout)
        else:
            ftp = ftplib.FTP(timeout=self.connect_timeout)
        stage = "connect"
        try:
            ftp.connect(self.host, self.port, timeout=self.connect_timeout)
            if isinstance(ftp, ftplib.FTP_TLS):
                stage = "auth"
                ftp.auth()
            stage = "login"
            ftp.login(self.user, self._password or "")
            stage = "setup"
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
            ftp.set_pasv(self.passive)
            ftp.voidcmd("TYPE I")
            if self.base.startswith("/"):
                self._root = self.base
            else:
                home = ftp.pwd()
                if not home.startswith("/"):
                    raise ftplib.error_reply(f"PWD named no absolute folder ({home!r})")
                self._root = posixpath.join(home, self.base) if self.base else home
            ftp.timeout = self.io_timeout
            if ftp.sock is not None:
                ftp.sock.settimeout(self.io_timeout)
        except Exception as exc:
            with contextlib.suppress(Exception):
                ftp.close()
            self._connect_error(exc, verb, path, stage)
        self._ftp = ftp
        orphans, self._orphans = self._orphans, []
        for orphan in orphans:
            self._remove_quietly(ftp, orphan)

    # ---- operations -------------------------------------------------------------------------------------

    def _is_folder(self, ftp: ftplib.FTP, folder: str) -> bool:
        try:
            ftp.cwd(folder)
        except ftplib.error_perm:
            return False
        return True

    def _makedirs(self, ftp: ftplib.FTP, folder: str) -> None:
        """MKD each missing level, tolerating "exists" (a folder made meanwhile by someone else)."""
        missing: list[str] = []
        current = folder
        while current not in ("", "/") and not self._is_folder(ftp, current):
            missing.append(current)
            current = posixpath.dirname(current)
        for level in reversed(missing):
            try:
                ftp.mkd(level)
            except ftplib.error_perm:
                if not self._is_folder(ftp, level):
                    raise

    def _size(self, ftp: ftplib.FTP, path: str) -> int | None:
        try:
            return ftp.size(path)
        except (ftplib.error_perm, ValueError):  # SIZE not implemented (500, 502), or an odd answer
            return None

    def _rename(self, ftp: ftplib.FTP, tmp: str, target: str) -> None:
        try:
            ftp.rename(tmp, target)
        except ftplib.error_perm as refused:
            # Some servers (IIS among them) will not rename over an existing file: remove it, then rename.
            try:
                ftp.delete(target)
            except ftplib.error_perm:
                raise refused from None
            ftp.rename(tmp, target)

    def _listed(self, ftp: ftplib.FTP, path: str) -> bool:
        folder, name = posixpath.split(path)
        try:
            names = ftp.nlst(folder or ".")
        except ftplib.error_perm:  # no such folder, or an empty one (some servers answer 550 for that)
            return False
        return any(posixpath.basename(entry.rstrip("/")) == name for entry in names)

    def _remove_quietly(self, ftp: ftplib.FTP, path: str) -> None:
        """Remove a temporary file; if the connection is gone, remember it for the next connection."""
        try:
            ftp.delete(path)
        except ftplib.error_perm:
            pass  # not there (the STOR never created it), or not ours to remove
        except Exception:
            if path not in self._orphans:
                self._orphans.append(path)

    # ---- errors -----------------------------------------------------------------------------------------

    def _describe(self, exc: BaseException) -> str:
        text = str(exc).strip()
        if isinstance(exc, ftplib.Error) and text:
            described = text  # the server's own reply, e.g. "550 Permission denied."
        elif isinstance(exc, TimeoutError) and not text:
            described = "TimeoutError: timed out"
        else:
            described = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        if self._password:
            described = described.replace(self._password, "***")
        return described

    def _hostport(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def _login_hint(self) -> str:
        if self._password is None:
            return (f"check the user {self.user!r} in the URL; no password is sent (set option password_env to "
                    "the name of the environment variable holding it)")
        return (f"check the user {self.user!r} in the URL and the password in the environment variable "
                f"{self._password_env} (option password_env)")

    def _connect_error(self, exc: Exception, verb: str, path: str, stage: str = "connect") -> NoReturn:
        start = f"{self.url}: cannot {verb} {path}"
        said = self._describe(exc)
        if isinstance(exc, ssl.SSLCertVerificationError):
            trust = (f"checked against the CA in ca_file {self.ca_file}" if self.ca_file is not None
                     else "checked against the system's CAs; if the partner's server has a certificate from its own "
                          "CA, set option ca_file to that CA's certificate")
            raise DeliveryError(f"{start}: the TLS certificate of {self._hostport()} is not trusted: "
                                f"{exc.verify_message or exc.reason} ({trust}); nothing was sent",
                                retryable=False) from None
        if isinstance(exc, ftplib.error_perm):
            code = _reply_code(exc)
            if stage == "auth":
                raise DeliveryError(f"{start}: the server refused AUTH TLS ({said}): it does not offer explicit "
                                    "FTPS; use ftp:// if the partner agrees to plain FTP (implicit FTPS on port 990 "
                                    "is not supported)", retryable=False) from None
            if code in ("530", "331", "332") or stage == "login":
                tls = (" (the server may want TLS: try ftps://)" if self.scheme == "ftp"
                       and re.search(r"TLS|SSL|secure", str(exc), re.IGNORECASE) else "")
                raise DeliveryError(f"{start}: the server refused the login ({said}){tls}: {self._login_hint()}",
                                    retryable=False) from None
            raise DeliveryError(f"{start}: the server refused: {said}", retryable=False) from None
        if isinstance(exc, ftplib.error_temp):
            raise DeliveryError(f"{start}: the server is busy or unavailable ({said}); will try again",
                                retryable=True) from None
        if isinstance(exc, socket.gaierror):
            raise DeliveryError(f"{start}: cannot resolve the host name {self.host!r} ({exc.strerror or exc})",
                                retryable=True) from None
        if isinstance(exc, ftplib.error_reply | ftplib.error_proto):
            raise DeliveryError(f"{start}: the server at {self._hostport()} answered unexpectedly ({said})",
                                retryable=True) from None
        if isinstance(exc, ssl.SSLError):
            raise DeliveryError(f"{start}: the TLS handshake with {self._hostport()} failed ({said})",
                                retryable=True) from None
        # Refused, timed out, reset, closed, a garbled greeting: may mend.
        raise DeliveryError(f"{start}: cannot reach the FTP server at {self._hostport()} ({said})",
                            retryable=True) from None

    def _reply_error(self, exc: ftplib.Error, verb: str, path: str) -> NoReturn:
        start = f"{self.url}: cannot {verb} {path}"
        said = self._describe(exc)
        code = _reply_code(exc)
        if isinstance(exc, ftplib.error_temp):
            raise DeliveryError(f"{start}: the server answered {said}; will try again", retryable=True) from None
        if code == "552":  # storage allocation exceeded: someone may make room
            raise DeliveryError(f"{start}: the server has no room ({said}); will try again",
                                retryable=True) from None
        if code == "530":
            raise DeliveryError(f"{start}: the server says we are not logged in ({said}): "
                                f"{self._login_hint()}", retryable=False) from None
        raise DeliveryError(f"{start}: the server refused ({said}): the user {self.user!r} may not write "
                            "there, or the name is not allowed; ask the partner, or correct the destination's "
                            "path", retryable=False) from None
