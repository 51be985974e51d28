"""One open transport per destination URL, shared by the threads that deliver to it, closed together."""

from __future__ import annotations

import threading
from pathlib import Path

from wirepub.transports import Destination, Transport, open_transport


class TransportPool:
    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self._open: dict[str, Transport] = {}
        self._lock = threading.Lock()

    def get(self, destination: Destination) -> Transport:
        with self._lock:
            if destination.url not in self._open:
                self._open[destination.url] = open_transport(destination, base_dir=self.base_dir)
            return self._open[destination.url]

    def close(self) -> None:
        with self._lock:
            opened, self._open = list(self._open.values()), {}
        for transport in opened:
            transport.close()
