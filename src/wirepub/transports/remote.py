"""What connection-oriented transports share (ftp.py, sftp.py): one connection per destination, reused.

    scheme://user@host:port/path      no password (it goes in an environment variable), no query

- put() may be called from several threads; operations are serialised on the one connection. A connection
  found dropped (the server's idle timeout, a restart) is reopened once, at once; anything longer is the
  delivery ledger's business.
- put() creates missing folders, writes the bytes under a temporary name in the target's folder, checks
  the size, and renames it over the target, so a partner sees the old document or the new one, never half
  of one. A temporary file a dropped connection kept us from removing is removed on the next connection.
- Temporary files of this destination (``<temp_prefix><name>.<12 hex>.tmp``) that an earlier run left (a
  killed process) are removed once an hour old by the server's clock against ours: with one listing of
  the base folder at the first connection, and one of each feed's folder before the first feed written
  there (feeds are rewritten every run, so that is where a killed writer most often left one). Item
  folders are not listed: that would be a round trip more per story, for a file partners skip anyway.
- probe() writes and removes a probe document, and says so when only the removing failed.
- Messages start with the destination's URL, name the host as host:port, and never carry a secret.

A subclass names its schemes, default port and options schema, parses the URL's path its protocol's way,
opens and closes the connection, and does the few file operations below on it; its error tables map its
library's exceptions to DeliveryErrors (transports.errors).
"""

from __future__ import annotations

import abc
import logging
import posixpath
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import SplitResult, unquote, urlsplit

from wirepub.clock import Clock, SystemClock
from wirepub.errors import ConfigError
from wirepub.logs import facts
from wirepub.transports import Destination, Put
from wirepub.transports.errors import DeliveryError, ErrorTable, Facts, Refused, Throttled, Unreachable
from wirepub.transports.options import check_options
from wirepub.urls import shown
from wirepub.vocabulary import PutKind

log = logging.getLogger(__name__)

PROBE_PATH = ".wirepub-probe"
STALE_TEMP_SECONDS = 3600
SWEEP_FOLDERS = 100         # folders listed for leftovers, per transport
SHOWN_REMOVED = 20          # removed files named in the log line
C = TypeVar("C")    # the connection
T = TypeVar("T")


class RemoteTransport(abc.ABC, Generic[C]):
    SCHEMES: ClassVar[tuple[str, ...]]
    URL_FORM: ClassVar[str]                 # said when the URL is not one: "an FTP destination is ..."
    DEFAULT_PORT: ClassVar[int]
    SCHEMA: ClassVar[str]                   # the options schema, schemas/transports/<SCHEMA>.schema.json
    BAD_CHARS: ClassVar[re.Pattern[str]]    # what a document path must not contain
    BAD_CHARS_SAID: ClassVar[str]           # ... said for people, appended to the list of path rules
    MISSING: ClassVar[tuple[type[Exception], ...]]   # what removing a file that is not there raises
    REPLIES: ClassVar[tuple[type[Exception], ...]] = ()  # exceptions whose text is the server's own reply
    OPERATION_ERRORS: ClassVar[ErrorTable]  # maps what an operation on an open connection raised

    def __init__(self, destination: Destination, *, base_dir: Path, clock: Clock | None = None) -> None:
        self.url = shown(destination.url)       # what messages say: no password, no query value
        self.clock: Clock = clock or SystemClock()
        parts = self._url_parts(destination.url)
        self.scheme = parts.scheme.lower()
        self.host: str = parts.hostname or ""
        self.port: int = parts.port or self.DEFAULT_PORT
        self.user = unquote(parts.username) if parts.username else self._default_user()
        self.base = self._base_path(parts.path)
        shown_host = f"[{self.host}]" if ":" in self.host else self.host
        self.location = f"{self.scheme}://{self.user}@{shown_host}:{self.port}{self._shown_path()}"
        self.options = check_options(self.url, self.scheme, destination.options, self.SCHEMA)
        self.connect_timeout = float(self.options["connect_timeout"])
        self.io_timeout = float(self.options["io_timeout"])
        self.temp_prefix: str = self.options["temp_prefix"]
        self._secrets: tuple[str, ...] = ()     # values to keep out of every message
        self._lock = threading.Lock()
        self._conn: C | None = None
        self._orphans: list[str] = []           # temporary files a dropped connection kept us from removing
        self._swept: set[str] = set()           # folders already listed for stale temporary files
        self._temps = re.compile(re.escape(self.temp_prefix) + r".+\.[0-9a-f]{12}\.tmp\Z")  # what _temp_name makes

    def _url_parts(self, url: str) -> SplitResult:
        parts = urlsplit(url)
        if parts.password is not None:
            raise ConfigError(f"destination {self.url}: an {parts.scheme}:// URL must not carry a password; name an "
                              "environment variable in the destination's password_env option instead")
        if parts.scheme.lower() not in self.SCHEMES or not parts.hostname:
            raise ConfigError(f"destination {self.url!r}: {self.URL_FORM}")
        if parts.query or parts.fragment or url.rstrip().endswith(("?", "#")):
            raise ConfigError(f"destination {self.url!r}: {parts.scheme.lower()}:// URLs take no query or fragment; "
                              "settings go in the destination's options")
        try:
            parts.port  # noqa: B018 -- validates it
        except ValueError:
            raise ConfigError(f"destination {self.url!r}: the port is not a number from 1 to 65535") from None
        return parts

    # ---- what a protocol does its own way -----------------------------------------------------------------

    @abc.abstractmethod
    def _default_user(self) -> str: ...

    @abc.abstractmethod
    def _base_path(self, raw_path: str) -> str:
        """The URL's path as the folder documents go below: relative to the login folder, or absolute."""

    @abc.abstractmethod
    def _shown_path(self) -> str:
        """The base folder as the location shows it."""

    @abc.abstractmethod
    def _root(self) -> str:
        """The folder document paths are joined to ('' for the login folder)."""

    @abc.abstractmethod
    def _open(self, verb: str, path: str) -> C:
        """A new connection, logged in and set up. Raises DeliveryError."""

    @abc.abstractmethod
    def _close(self, conn: C, *, polite: bool) -> None:
        """Close conn, saying goodbye first if polite; never raises."""

    @abc.abstractmethod
    def _is_drop(self, exc: Exception) -> bool:
        """Whether exc means the connection is gone (else the server answered, and OPERATION_ERRORS says)."""

    @abc.abstractmethod
    def _makedirs(self, conn: C, folder: str) -> None: ...

    @abc.abstractmethod
    def _store(self, conn: C, tmp: str, data: bytes) -> None: ...

    @abc.abstractmethod
    def _size(self, conn: C, path: str) -> int | None:
        """The size of a remote file, None if the server will not say."""

    @abc.abstractmethod
    def _rename(self, conn: C, tmp: str, target: str) -> None:
        """Move tmp over target (replacing it)."""

    @abc.abstractmethod
    def _remove(self, conn: C, target: str) -> None:
        """Remove a document; one that is not there is no error."""

    @abc.abstractmethod
    def _remove_file(self, conn: C, path: str) -> None:
        """Remove a file, raising one of MISSING if it is not there."""

    def _listing(self, conn: C, folder: str) -> Iterable[tuple[str, float | None]]:
        """The regular files in folder ('' for the login folder): (name, modified as unix time, or None if the
        server will not say). A protocol that cannot say sweeps nothing."""
        return ()

    def _alive(self) -> bool:
        return self._conn is not None

    def _code(self, exc: BaseException) -> Any:
        """The code an error table's rows may match (a reply code, an errno)."""
        return None

    def _lazy_facts(self, exc: BaseException) -> Mapping[str, Callable[[], Any]]:
        """Facts about exc that a protocol's messages name, worked out only when they do."""
        return {}

    # ---- paths --------------------------------------------------------------------------------------------

    def remote_path(self, path: str) -> str:
        """The server-side path of a document, below the base folder; refuses anything not plainly relative."""
        segments = path.split("/")
        if not path or any(s in ("", ".", "..") for s in segments) or self.BAD_CHARS.search(path):
            raise Refused(f"{self.url}: path {path!r} is not a relative path below the destination "
                          f"(no leading, trailing or doubled slashes, no . or .. segments{self.BAD_CHARS_SAID})")
        root = self._root()
        return posixpath.join(root, path) if root else path

    def _temp_name(self, target: str) -> str:
        folder, name = posixpath.split(target)
        return posixpath.join(folder, f"{self.temp_prefix}{name[:100]}.{secrets.token_hex(6)}.tmp")

    # ---- the contract -------------------------------------------------------------------------------------

    def put(self, doc: Put) -> None:
        self.remote_path(doc.path)  # refuse a bad path before connecting
        self._run("put", doc.path, lambda conn: self._write(conn, doc))

    def delete(self, path: str) -> None:
        self.remote_path(path)
        self._run("remove", path, lambda conn: self._remove(conn, self.remote_path(path)))

    def probe(self) -> None:
        probe = Put(PROBE_PATH, b"wirepub probe\n", "text/plain", kind=PutKind.PROBE)
        self.put(probe)
        try:
            self.delete(probe.path)
        except DeliveryError as exc:
            raise exc.reworded(f"{exc} (the probe {self.remote_path(probe.path)} was written but could not be "
                               "removed: wirepub needs to remove files too, for withdrawn stories)") from None

    def close(self) -> None:
        with self._lock:
            self._disconnect(polite=True)

    def _write(self, conn: C, doc: Put) -> None:
        target = self.remote_path(doc.path)
        folder = posixpath.dirname(target)
        if folder:
            self._makedirs(conn, folder)
        if doc.kind == PutKind.FEED:
            self._sweep(conn, folder)
        tmp = self._temp_name(target)
        try:
            self._store(conn, tmp, doc.data)
            size = self._size(conn, tmp)
            if size is not None and size != len(doc.data):
                raise Throttled(f"{self.url}: cannot put {doc.path}: the server kept {size} of "
                                f"{len(doc.data)} bytes of the temporary file {tmp}")
            self._rename(conn, tmp, target)
        except BaseException:
            self._remove_quietly(conn, tmp)
            raise

    # ---- the connection -----------------------------------------------------------------------------------

    def _run(self, verb: str, path: str, operation: Callable[[C], T]) -> T:
        """Run operation(connection) on the shared connection, reconnecting once if a reused one dropped."""
        with self._lock:
            for attempt in (1, 2):
                reused = self._conn is not None
                if reused and not self._alive():
                    self._disconnect()
                    reused = False
                conn = self._conn if self._conn is not None else self._connect(verb, path)
                try:
                    return operation(conn)
                except DeliveryError:
                    raise
                except Exception as exc:
                    if not self._is_drop(exc):
                        raise self._error(self.OPERATION_ERRORS, exc, verb, path) from None
                    dropped = exc
                self._disconnect()
                if reused and attempt == 1:
                    log.info("%s connection dropped, reconnecting location=%s error=%s",
                             self.scheme, self.location, self._describe(dropped))
                    continue
                raise Unreachable(f"{self.url}: cannot {verb} {path}: the connection to {self._hostport()} was "
                                  f"lost ({self._describe(dropped)}); will try again") from None
            raise AssertionError("unreachable")

    def _connect(self, verb: str, path: str) -> C:
        conn = self._open(verb, path)
        self._conn = conn
        orphans, self._orphans = self._orphans, []
        for orphan in orphans:
            self._remove_quietly(conn, orphan)
        self._sweep(conn, self._root())
        return conn

    def _sweep(self, conn: C, folder: str) -> None:
        """Remove this destination's temporary files older than an hour from folder: one listing, once per
        folder. Never fails: what cannot be listed or removed is left (a dropped connection shows at the
        next operation)."""
        if folder in self._swept or len(self._swept) >= SWEEP_FOLDERS:
            return
        self._swept.add(folder)
        stale_before = self.clock.now().timestamp() - STALE_TEMP_SECONDS
        removed: list[str] = []
        try:
            for name, modified in self._listing(conn, folder):
                name = posixpath.basename(name)
                if self._temps.match(name) and modified is not None and modified < stale_before:
                    path = posixpath.join(folder, name) if folder else name
                    self._remove_file(conn, path)
                    removed.append(path)
        except Exception as exc:
            log.info("could not sweep temporary files", extra=facts(
                destination=self.url, folder=folder or ".", error=self._describe(exc)))
        if removed:
            log.info("removed stale temporary files", extra=facts(destination=self.url, count=len(removed),
                                                                  files=removed[:SHOWN_REMOVED]))

    def _disconnect(self, *, polite: bool = False) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._close(conn, polite=polite)

    def _remove_quietly(self, conn: C, path: str) -> None:
        """Remove a temporary file; if the connection is gone, remember it for the next connection."""
        if self._alive():
            try:
                self._remove_file(conn, path)
                return
            except self.MISSING:
                return  # not there (the write never created it), or not ours to remove
            except Exception:
                pass
        if path not in self._orphans:
            self._orphans.append(path)

    # ---- messages -----------------------------------------------------------------------------------------

    def _hostport(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _describe(self, exc: BaseException) -> str:
        text = str(exc).strip()
        if isinstance(exc, self.REPLIES) and text:
            described = text  # the server's own reply, e.g. "550 Permission denied."
        elif isinstance(exc, TimeoutError) and not text:
            described = "TimeoutError: timed out"
        else:
            described = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        return self._scrub(described)

    def _error(self, table: ErrorTable, exc: BaseException, verb: str, path: str, **values: Any) -> DeliveryError:
        """exc as the DeliveryError table says, its message filled from what this transport knows."""
        facts = Facts({"start": f"{self.url}: cannot {verb} {path}", "url": self.url, "host": self.host,
                       "hostport": self._hostport(), "user": self.user, "code": self._code(exc), **values},
                      {"said": lambda: self._describe(exc),
                       "strerror": lambda: getattr(exc, "strerror", None) or exc,
                       **self._lazy_facts(exc)})
        return table.error(exc, facts, self._scrub)
