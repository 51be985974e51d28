"""memo://NAME: an example of a third-party transport, documents kept in memory in MEMOS[NAME][path].

A package gives wirepub a transport for a new scheme with an entry point in the group ``wirepub.transports``:
``memo = wirepub_plugin_example.memo:MemoTransport`` (pyproject.toml: ``[project.entry-points."wirepub.transports"]``).
The class keeps wirepub's transport contract: it is built as ``cls(destination, *, base_dir, clock=None)``, has
``url`` and ``location``, and put(), delete(), probe() and close(); it checks its options against its own
schema and fails with wirepub's delivery errors.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wirepub.clock import Clock, SystemClock
from wirepub.errors import ConfigError
from wirepub.transports import Destination, Put, Refused
from wirepub.transports.options import check_options
from wirepub.vocabulary import PutKind

MEMOS: dict[str, dict[str, bytes]] = {}
_lock = threading.Lock()

OPTIONS: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "max_bytes": {"type": "integer", "minimum": 1, "maximum": 100_000_000, "default": 10_000_000,
                      "description": "The largest document kept; a larger one is refused."},
    },
}


class MemoTransport:
    def __init__(self, destination: Destination, *, base_dir: Path, clock: Clock | None = None) -> None:
        self.url = destination.url
        self.clock: Clock = clock or SystemClock()
        self.name = urlsplit(destination.url).netloc
        if not self.name:
            raise ConfigError(f"destination {self.url!r}: a memo destination is memo://NAME")
        self.options = check_options(self.url, "memo", destination.options, OPTIONS)
        self.location = f"memo://{self.name} (in memory)"
        with _lock:
            MEMOS.setdefault(self.name, {})

    def put(self, doc: Put) -> None:
        if len(doc.data) > self.options["max_bytes"]:
            raise Refused(f"{self.url}: cannot put {doc.path}: {len(doc.data)} bytes, more than max_bytes")
        with _lock:
            MEMOS[self.name][doc.path] = doc.data

    def delete(self, path: str) -> None:
        with _lock:
            MEMOS[self.name].pop(path, None)

    def probe(self) -> None:
        self.put(Put(".wirepub-probe", b"wirepub probe\n", "text/plain", kind=PutKind.PROBE))
        self.delete(".wirepub-probe")

    def close(self) -> None:
        pass
