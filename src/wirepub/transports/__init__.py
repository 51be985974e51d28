"""Transports put bytes at a destination. One module per URL scheme; the scheme picks the transport.

Adding a transport touches no format: a transport only ever sees a relative path, bytes and a media type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from wirepub.errors import ConfigError


class Transport(Protocol):
    url: str
    location: str   # where the documents land, said for people (a folder, a bucket, a host)

    def put(self, path: str, data: bytes, media_type: str) -> None:
        """Write `data` at `path` below the destination, atomically where the protocol allows."""
        ...


def open_transport(url: str, *, base_dir: Path) -> Transport:
    """The transport for a destination URL. A URL without a scheme is a local folder."""
    scheme = urlsplit(url).scheme.lower() if "://" in url or url.startswith("file:") else "file"
    if scheme == "file":
        from wirepub.transports.file import FileTransport

        return FileTransport(url, base_dir=base_dir)
    raise ConfigError(f"destination {url!r}: no transport for scheme {scheme!r} yet (wirepub has: file)")
