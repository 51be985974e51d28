"""Transports put bytes at a destination. One module per URL scheme; the scheme picks the transport.

Adding a transport touches no format: a transport only sees a Put (relative path, bytes, media type and
the names of what it carries) and the destination's own settings from wirepub.toml.

The contract every transport keeps:
- It is built as ``cls(destination, *, base_dir, clock=None)``: relative paths in its options are relative to
  base_dir (wirepub.toml's folder); time comes from clock (wirepub.clock.SystemClock when None).
- Its options are checked against its JSON Schema (schemas/transports/, see transports.options).
- put() is idempotent for one Put: delivering the same bytes at the same path again is harmless, and
  where the protocol has a place for it (an HTTP header, object metadata) the Put's idempotency_key goes
  with it, so a receiver can drop a re-send after a crash.
- Writes are atomic where the protocol allows (temporary name then rename: file, SFTP, FTP).
- Failure raises a DeliveryError (transports.errors: Unreachable, Throttled, Refused, Misconfigured), saying
  whether trying again later can help (retryable) and, when the other side said so, after how many seconds
  (retry_after). Secrets never appear in its message.

Besides wirepub's own, other packages may offer transports for other schemes, by an entry point in the group
``wirepub.transports`` (name: the scheme; value: ``"module:Class"``), loaded the first time a destination
names a scheme wirepub does not have.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import ipaddress
import logging
import os
import re
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from wirepub.errors import ConfigError
from wirepub.transports.errors import DeliveryError, Misconfigured, Refused, Throttled, Unreachable
from wirepub.urls import shown
from wirepub.vocabulary import PutKind

if TYPE_CHECKING:
    from wirepub.clock import Clock

__all__ = [
    "TRANSPORTS", "DeliveryError", "Destination", "Misconfigured", "Put", "Refused", "Throttled", "Transport",
    "Unreachable", "ca_context", "content_type", "is_loopback", "open_transport", "secret_from_env", "unsafe",
]
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Destination:
    url: str
    options: Mapping[str, Any] = field(default_factory=dict)  # the scheme's own settings (credentials by reference)

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme.lower() if "://" in self.url or self.url.startswith("file:") else "file"


@dataclass(frozen=True, slots=True)
class Put:
    path: str                           # relative, '/'-separated, e.g. items/abc/v2.xml
    data: bytes
    media_type: str
    kind: PutKind = PutKind.ITEM
    format: str = ""
    story_id: str | None = None
    version: int | None = None
    idempotency_key: str = ""           # stable per delivery: the same key for every attempt


class Transport(Protocol):
    url: str        # the destination's URL as messages say it (wirepub.urls.shown): no password, no query value
    location: str   # where the documents land, said for people (a folder, a bucket, a host); no secrets

    def put(self, doc: Put) -> None:
        """Deliver doc at doc.path below the destination. Raises DeliveryError."""
        ...

    def delete(self, path: str) -> None:
        """Remove a document (a killed story's item, a probe). Missing is not an error."""
        ...

    def probe(self) -> None:
        """Connect, authenticate, write and remove a small probe document. Raises DeliveryError."""
        ...

    def close(self) -> None: ...


ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TEXT_TYPES = re.compile(r"(text/[^;]+|[^/;]+/([^;]+\+)?(xml|json))\Z")


def content_type(media_type: str) -> str:
    """The Content-Type to send or store: UTF-8 said explicitly for XML, JSON and text documents."""
    base = media_type.split(";", 1)[0].strip().lower()
    if _TEXT_TYPES.match(base) and "charset=" not in media_type.lower():
        return f"{media_type}; charset=utf-8"
    return media_type


def secret_from_env(shown: str, options: Mapping[str, Any], option: str, *, name_check: re.Pattern[str] | None = None
                    ) -> str | None:
    """The value of the environment variable an `*_env` option names (None if the option is not given).
    The option must hold a NAME: a value that is none may well be the secret itself, so it is not repeated
    in the message. `shown` names the destination without secrets."""
    name = options.get(option)
    if name is None:
        return None
    if not isinstance(name, str) or not ENV_NAME.match(name) or (name_check is not None and name_check.match(name)):
        raise ConfigError(f"{shown}: option {option} must be the NAME of an environment variable "
                          "(letters, digits, underscores) that holds the value, not the value itself")
    value = os.environ.get(name, "")
    if not value:
        raise ConfigError(f"{shown}: option {option} names the environment variable {name}, which is "
                          f"{'empty' if name in os.environ else 'not set'} in wirepub's environment; "
                          "set it, or correct the option")
    return value


def ca_context(shown: str, ca_file: Any, base_dir: Path) -> tuple[ssl.SSLContext, Path | None]:
    """The TLS context for a destination: the system's CA store (SSL_CERT_FILE / SSL_CERT_DIR honoured), or
    only the CA certificate(s) in the ca_file option (relative to wirepub.toml's folder); and that file."""
    if ca_file is None:
        return ssl.create_default_context(), None
    if not isinstance(ca_file, str) or not ca_file.strip():
        raise ConfigError(f"{shown}: option ca_file must be the path of a PEM file")
    path = base_dir / os.path.expanduser(ca_file.strip())
    try:
        return ssl.create_default_context(cafile=str(path)), path
    except FileNotFoundError:
        raise ConfigError(f"{shown}: option ca_file: {path} does not exist") from None
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"{shown}: option ca_file: {path} is not a PEM file of CA certificates ({exc})") from None


LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_loopback(host: str) -> bool:
    """Whether host names this machine itself, judged without a name lookup: 127.0.0.0/8, ::1 (also as
    ::ffff:127.x.y.z), localhost and names below .localhost."""
    name = host.strip("[]").rstrip(".").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def unsafe(destination: Destination) -> str | None:
    """What is unsafe about a destination as configured, in a sentence for people, or None: documents (and
    an FTP password) sent unencrypted to another machine, by plain ftp:// or http://, or an s3:// endpoint_url
    over plain http://. Pure: no name is looked up, nothing is opened. Loopback stays quiet (a local relay,
    development). Other schemes, plugins' included, are not judged here."""
    scheme, options = destination.scheme, destination.options
    said = f"destination {shown(destination.url)}"
    if scheme == "s3" and isinstance(options.get("endpoint_url"), str):
        said += f": option endpoint_url {shown(options['endpoint_url'])}"
        url, what = options["endpoint_url"], "every document (not the keys: requests are signed)"
    elif scheme == "ftp":
        url, what = destination.url, f"{'the password and ' if options.get('password_env') else ''}every document"
    elif scheme == "http":
        url, what = destination.url, f"every document{' and the query' if '?' in destination.url else ''}"
    else:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return None  # the transport refuses it, in its own words
    if parts.scheme.lower() not in ("ftp", "http") or not host or is_loopback(host):
        return None
    safe = "ftps:// or sftp://" if parts.scheme.lower() == "ftp" else "https://"
    return (f"{said}: plain {parts.scheme.lower()}:// sends {what} unencrypted to {host}, which is not this "
            f"machine; anyone on the way can read or change them: use {safe} where the partner offers it")


class TransportClass(Protocol):
    def __call__(self, destination: Destination, *, base_dir: Path, clock: Clock | None = None) -> Transport: ...


# scheme -> "module:Class"; modules are imported only when a destination uses them. Plugins are added to it.
TRANSPORTS = {
    "file": "wirepub.transports.file:FileTransport",
    "s3": "wirepub.transports.s3:S3Transport",
    "https": "wirepub.transports.http:HTTPTransport",
    "http": "wirepub.transports.http:HTTPTransport",
    "sftp": "wirepub.transports.sftp:SFTPTransport",
    "ftp": "wirepub.transports.ftp:FTPTransport",
    "ftps": "wirepub.transports.ftp:FTPTransport",
}
ENTRY_POINT_GROUP = "wirepub.transports"
_plugins_loaded = False
_plugins_lock = threading.Lock()


def load_plugins() -> None:
    """Add the transports of installed packages' ``wirepub.transports`` entry points to TRANSPORTS, once.
    wirepub's own come first: a plugin naming a scheme that is already there is left out (and logged)."""
    global _plugins_loaded
    with _plugins_lock:
        if _plugins_loaded:
            return
        _plugins_loaded = True
        for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            scheme = entry.name.strip().lower()
            if scheme in TRANSPORTS:
                if TRANSPORTS[scheme] != entry.value:
                    log.warning("transport plugin left out: scheme %s is taken scheme=%s plugin=%s kept=%s",
                                scheme, scheme, entry.value, TRANSPORTS[scheme])
                continue
            TRANSPORTS[scheme] = entry.value


def open_transport(destination: Destination | str, *, base_dir: Path, clock: Clock | None = None) -> Transport:
    """The transport for a destination. A URL without a scheme is a local folder."""
    dest = Destination(destination) if isinstance(destination, str) else destination
    if dest.scheme not in TRANSPORTS:
        load_plugins()
    target = TRANSPORTS.get(dest.scheme)
    if target is None:
        raise ConfigError(f"destination {shown(dest.url)!r}: no transport for scheme {dest.scheme!r} "
                          f"(wirepub has: {', '.join(sorted(TRANSPORTS))})")
    module_name, _, attribute = target.partition(":")
    try:
        found: Any = importlib.import_module(module_name.strip())
        for name in attribute.strip().split("."):
            found = getattr(found, name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"destination {shown(dest.url)!r}: the {dest.scheme} transport is not available "
                          f"({exc})") from None
    cls: TransportClass = found
    return cls(dest, base_dir=base_dir, clock=clock)
