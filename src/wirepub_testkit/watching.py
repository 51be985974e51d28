"""Watching a folder while a document is written into it: what a partner listing it in a loop would see."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path


class FolderWatcher:
    """Lists a folder in a loop in a background thread, recording every (name, size) it sees.

    list_folder() returns {name: size}; it may raise OSError (or an ftplib error) while the folder does
    not exist yet. The loop ends at stop() or after `limit` seconds, whichever comes first.
    """

    def __init__(self, list_folder: Callable[[], dict[str, int]], *, limit: float = 60) -> None:
        self._list = list_folder
        self._limit = limit
        self._stop = threading.Event()
        self.seen: list[tuple[str, int]] = []
        self.rounds = 0
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, name="folder-watcher", daemon=True)

    def __enter__(self) -> FolderWatcher:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join(timeout=self._limit + 10)

    def _run(self) -> None:
        deadline = time.monotonic() + self._limit
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                listing = self._list()
            except Exception as exc:  # the folder is not there yet; keep looking
                if len(self.errors) < 20:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.001)
                continue
            self.rounds += 1
            self.seen.extend(listing.items())


def local_listing(folder: Path) -> Callable[[], dict[str, int]]:
    def listing() -> dict[str, int]:
        found = {}
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    found[entry.name] = entry.stat().st_size
                except FileNotFoundError:  # renamed away between the listing and the stat
                    continue
        return found

    return listing
