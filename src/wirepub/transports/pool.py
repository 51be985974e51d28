"""One open transport per destination URL, shared by the threads that deliver to it, closed together.

Transports meet the real world (a receiver checks a signature's timestamp against its own clock; a folder's
temporary files carry real modification times), so they take the system clock unless one is given here.
"""

from __future__ import annotations

import threading
from pathlib import Path

from wirepub.clock import Clock
from wirepub.transports import Destination, Transport, open_transport


class TransportPool:
    def __init__(self, base_dir: Path, *, clock: Clock | None = None) -> None:
        self.base_dir = base_dir
        self.clock = clock
        self._open: dict[str, Transport] = {}
        self._lock = threading.Lock()

    def get(self, destination: Destination) -> Transport:
        with self._lock:
            if destination.url not in self._open:
                self._open[destination.url] = open_transport(destination, base_dir=self.base_dir,
                                                               clock=self.clock)
            return self._open[destination.url]

    def close(self) -> None:
        with self._lock:
            opened, self._open = list(self._open.values()), {}
        for transport in opened:
            transport.close()
