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
destination's options in wirepub.toml, described (and checked) by schemas/transports/ftp.schema.json.

One control connection per destination, opened at the first put and reused (transports.remote).

put() creates missing folders (MKD, level by level), STORes the bytes under a temporary name in the target's
folder, checks the size where the server answers SIZE, and renames it (RNFR/RNTO) to the final name, so a
partner sees the old document or the new one, never half of one. A server that will not rename over an
existing file gets the target deleted first (a moment without the document, never half of it).
"""

from __future__ import annotations

import contextlib
import ftplib
import io
import posixpath
import re
import socket
import ssl
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

from wirepub.clock import Clock
from wirepub.errors import ConfigError
from wirepub.transports import Destination, ca_context, secret_from_env
from wirepub.transports.errors import Case, ErrorTable, Facts, Misconfigured, Refused, Throttled, Unreachable
from wirepub.transports.remote import RemoteTransport

BLOCK_SIZE = 64 * 1024
_BAD_PATH_CHARS = re.compile(r"[\r\n\0]")


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


def _mlsd_time(value: str | None) -> float | None:
    """An MLSD modify fact (YYYYMMDDHHMMSS[.sss], UTC) as unix time; None if there is none or it is odd."""
    try:
        return datetime.strptime((value or "")[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def _reply_code(exc: BaseException) -> str:
    text = str(exc)
    return text[:3] if text[:3].isdigit() else ""


def _stage(name: str) -> Callable[[Facts], bool]:
    return lambda facts: bool(facts["stage"] == name)


UNTRUSTED = "{start}: the TLS certificate of {hostport} is not trusted: {cert_problem} ({trust}); nothing was sent"

# While connecting, securing and logging in (the fact "stage" says which).
CONNECT_ERRORS = ErrorTable(
    Case(ssl.SSLCertVerificationError, Misconfigured, UNTRUSTED),
    Case(ftplib.error_perm, Misconfigured, "{start}: the server refused AUTH TLS ({said}): it does not offer "
         "explicit FTPS; use ftp:// if the partner agrees to plain FTP (implicit FTPS on port 990 is not "
         "supported)", when=_stage("auth")),
    Case(ftplib.error_perm, Refused, "{start}: the server refused the login ({said}){tls_hint}: {login_hint}",
         when=lambda facts: facts["code"] in ("530", "331", "332") or facts["stage"] == "login"),
    Case(ftplib.error_perm, Refused, "{start}: the server refused: {said}"),
    Case(ftplib.error_temp, Throttled, "{start}: the server is busy or unavailable ({said}); will try again"),
    Case(socket.gaierror, Unreachable, "{start}: cannot resolve the host name {host!r} ({strerror})"),
    Case((ftplib.error_reply, ftplib.error_proto), Unreachable,
         "{start}: the server at {hostport} answered unexpectedly ({said})"),
    Case(ssl.SSLError, Unreachable, "{start}: the TLS handshake with {hostport} failed ({said})"),
    # Refused, timed out, reset, closed, a garbled greeting: may mend.
    Case(Exception, Unreachable, "{start}: cannot reach the FTP server at {hostport} ({said})"),
)

# The server's answer to a command once logged in (a 421 is a dropped connection, not an answer).
OPERATION_ERRORS = ErrorTable(
    Case(ssl.SSLCertVerificationError, Misconfigured, UNTRUSTED),
    Case(ftplib.error_temp, Throttled, "{start}: the server answered {said}; will try again"),
    Case(ftplib.error_perm, Throttled, "{start}: the server has no room ({said}); will try again",
         codes={"552"}),  # storage allocation exceeded: someone may make room
    Case(ftplib.error_perm, Refused, "{start}: the server says we are not logged in ({said}): {login_hint}",
         codes={"530"}),
    Case(ftplib.Error, Refused, "{start}: the server refused ({said}): the user {user!r} may not write there, or "
         "the name is not allowed; ask the partner, or correct the destination's path"),
)


class FTPTransport(RemoteTransport[ftplib.FTP]):
    SCHEMES = ("ftp", "ftps")
    URL_FORM = "an FTP destination is ftp://user@host:port/path or ftps://user@host:port/path"
    DEFAULT_PORT = 21
    SCHEMA = "ftp"
    BAD_CHARS = _BAD_PATH_CHARS
    BAD_CHARS_SAID = ", no line breaks"
    MISSING = (ftplib.error_perm,)
    REPLIES = (ftplib.Error,)
    OPERATION_ERRORS = OPERATION_ERRORS

    def __init__(self, destination: Destination, *, base_dir: Path, clock: Clock | None = None) -> None:
        super().__init__(destination, base_dir=base_dir, clock=clock)
        if _BAD_PATH_CHARS.search(self.user):
            raise ConfigError(f"destination {self.url!r}: the user name must not contain line breaks")
        self.passive: bool = self.options["passive"]
        self.ca_file: Path | None = None
        self._context: ssl.SSLContext | None = None
        ca_file = self.options.get("ca_file")
        if ca_file is not None and self.scheme != "ftps":
            raise ConfigError(f"{self.url}: option ca_file is for ftps:// destinations (this one is plain FTP)")
        if self.scheme == "ftps":
            self._context, self.ca_file = ca_context(self.url, ca_file, base_dir)
        self._password = self._secret(self.options, "password_env")
        self._password_env = self.options.get("password_env")
        self._secrets = (self._password,) if self._password else ()
        self._home = ""                  # the base folder as an absolute path, once connected

    def _default_user(self) -> str:
        return "anonymous"

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

    def _shown_path(self) -> str:
        return (f"/%2F{self.base[1:]}" if self.base.startswith("/") else f"/{self.base}").rstrip("/")

    def _root(self) -> str:
        return self._home

    def _secret(self, options: Mapping[str, Any], option: str) -> str | None:
        value = secret_from_env(self.url, options, option)
        if value is not None and _BAD_PATH_CHARS.search(value):
            name = options[option]
            raise ConfigError(f"{self.url}: the environment variable {name} (option {option}) holds a line break; "
                              "an FTP password cannot")
        return value

    # ---- the connection ---------------------------------------------------------------------------------

    def _open(self, verb: str, path: str) -> ftplib.FTP:
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
            self._home = self._home_of(ftp)
            ftp.timeout = self.io_timeout
            if ftp.sock is not None:
                ftp.sock.settimeout(self.io_timeout)
        except Exception as exc:
            with contextlib.suppress(Exception):
                ftp.close()
            raise self._error(CONNECT_ERRORS, exc, verb, path, stage=stage) from None
        return ftp

    def _home_of(self, ftp: ftplib.FTP) -> str:
        if self.base.startswith("/"):
            return self.base
        home = ftp.pwd()
        if not home.startswith("/"):
            raise ftplib.error_reply(f"PWD named no absolute folder ({home!r})")
        return posixpath.join(home, self.base) if self.base else home

    def _close(self, conn: ftplib.FTP, *, polite: bool) -> None:
        if polite:
            with contextlib.suppress(Exception):
                conn.quit()
        with contextlib.suppress(Exception):
            conn.close()

    def _is_drop(self, exc: Exception) -> bool:
        # EOF, reset, timeout, a garbled reply or a 421 make the connection unusable; other replies do not.
        if isinstance(exc, ftplib.error_perm | ftplib.error_temp):
            return _reply_code(exc) == "421"
        return not isinstance(exc, ssl.SSLCertVerificationError)

    # ---- operations -------------------------------------------------------------------------------------

    def _is_folder(self, ftp: ftplib.FTP, folder: str) -> bool:
        try:
            ftp.cwd(folder)
        except ftplib.error_perm:
            return False
        return True

    def _makedirs(self, conn: ftplib.FTP, folder: str) -> None:
        """MKD each missing level, tolerating "exists" (a folder made meanwhile by someone else)."""
        missing: list[str] = []
        current = folder
        while current not in ("", "/") and not self._is_folder(conn, current):
            missing.append(current)
            current = posixpath.dirname(current)
        for level in reversed(missing):
            try:
                conn.mkd(level)
            except ftplib.error_perm:
                if not self._is_folder(conn, level):
                    raise

    def _store(self, conn: ftplib.FTP, tmp: str, data: bytes) -> None:
        conn.storbinary(f"STOR {tmp}", io.BytesIO(data), blocksize=BLOCK_SIZE)

    def _size(self, conn: ftplib.FTP, path: str) -> int | None:
        try:
            return conn.size(path)
        except (ftplib.error_perm, ValueError):  # SIZE not implemented (500, 502), or an odd answer
            return None

    def _rename(self, conn: ftplib.FTP, tmp: str, target: str) -> None:
        try:
            conn.rename(tmp, target)
        except ftplib.error_perm as refused:
            # Some servers (IIS among them) will not rename over an existing file: remove it, then rename.
            try:
                conn.delete(target)
            except ftplib.error_perm:
                raise refused from None
            conn.rename(tmp, target)

    def _remove(self, conn: ftplib.FTP, target: str) -> None:
        try:
            conn.delete(target)
        except ftplib.error_perm:
            # 550 means "no such file" and "not allowed" alike: look.
            if self._listed(conn, target):
                raise

    def _remove_file(self, conn: ftplib.FTP, path: str) -> None:
        conn.delete(path)

    def _listing(self, conn: ftplib.FTP, folder: str) -> Iterable[tuple[str, float | None]]:
        """MLSD's files and their modify facts; nothing from a server without MLSD (LIST's times are not
        to be parsed reliably)."""
        try:
            entries = list(conn.mlsd(folder))
        except ftplib.error_perm:  # 500, 502: no MLSD
            return []
        return [(name, _mlsd_time(said.get("modify"))) for name, said in entries
                if said.get("type", "").lower() == "file"]

    def _listed(self, ftp: ftplib.FTP, path: str) -> bool:
        folder, name = posixpath.split(path)
        try:
            names = ftp.nlst(folder or ".")
        except ftplib.error_perm:  # no such folder, or an empty one (some servers answer 550 for that)
            return False
        return any(posixpath.basename(entry.rstrip("/")) == name for entry in names)

    # ---- errors -----------------------------------------------------------------------------------------

    def _code(self, exc: BaseException) -> str:
        return _reply_code(exc)

    def _lazy_facts(self, exc: BaseException) -> Mapping[str, Callable[[], Any]]:
        return {"login_hint": self._login_hint, "trust": self._trust,
                "cert_problem": lambda: getattr(exc, "verify_message", None) or getattr(exc, "reason", None),
                "tls_hint": lambda: (" (the server may want TLS: try ftps://)" if self.scheme == "ftp"
                                     and re.search(r"TLS|SSL|secure", str(exc), re.IGNORECASE) else "")}

    def _trust(self) -> str:
        if self.ca_file is not None:
            return f"checked against the CA in ca_file {self.ca_file}"
        return ("checked against the system's CAs; if the partner's server has a certificate from its own CA, set "
                "option ca_file to that CA's certificate")

    def _login_hint(self) -> str:
        if self._password is None:
            return (f"check the user {self.user!r} in the URL; no password is sent (set option password_env to "
                    "the name of the environment variable holding it)")
        return (f"check the user {self.user!r} in the URL and the password in the environment variable "
                f"{self._password_env} (option password_env)")
