"""The hot folder's changes as they happen (inotify, through watchdog), so the daemon looks at just the files
that changed instead of listing a folder of any size every few seconds.

A story file closed after writing, or renamed into the folder, is *settled*: complete, to be read at once.
One created or modified (a writer at work, or a move from another folder, which gives no close) is
*touched*: looked at again once it has been still for the settle time.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wirepub.logs import facts
from wirepub.sources.storyfiles import SUFFIXES

log = logging.getLogger("wirepub.sources.watch")


class FolderWatch:
    def __init__(self, folder: Path, *, on_settled: Callable[[], None], on_touched: Callable[[], None]) -> None:
        self.folder = folder
        self.on_settled = on_settled
        self.on_touched = on_touched
        self._touched: set[str] = set()
        self._settled: set[str] = set()
        self._lock = threading.Lock()
        self._observer: Any = None

    @property
    def running(self) -> bool:
        return self._observer is not None and bool(self._observer.is_alive())

    def start(self) -> bool:
        """Watch the folder; False (logged) if that cannot be done here, and the caller looks at everything."""
        from watchdog.observers import Observer

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            observer = Observer()
            observer.schedule(self._handler(), str(self.folder), recursive=False)
            observer.daemon = True
            observer.start()
        except OSError as exc:
            log.warning("cannot watch the hot folder", extra=facts(path=str(self.folder), error=str(exc)))
            return False
        self._observer = observer
        return True

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()

    def take(self) -> tuple[set[str], set[str]]:
        """(touched, settled) since the last take."""
        with self._lock:
            touched, settled = self._touched, self._settled
            self._touched, self._settled = set(), set()
        return touched, settled

    def give_back(self, touched: set[str], settled: set[str]) -> None:
        """A look that failed: these are looked at next time."""
        with self._lock:
            self._touched |= touched
            self._settled |= settled

    def _seen(self, path: str, complete: bool) -> None:
        name = os.path.basename(path)
        if os.path.splitext(name)[1].lower() not in SUFFIXES or name.startswith((".", "~")):
            return
        with self._lock:
            self._touched.add(path)
            if complete:
                self._settled.add(path)
        (self.on_settled if complete else self.on_touched)()

    def _handler(self) -> Any:
        from watchdog.events import (
            FileClosedEvent,
            FileCreatedEvent,
            FileModifiedEvent,
            FileMovedEvent,
            FileSystemEvent,
            FileSystemEventHandler,
        )

        watch = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.is_directory:
                    return
                moved = isinstance(event, FileMovedEvent)
                path = os.fsdecode(event.dest_path if moved else event.src_path)
                if moved or isinstance(event, FileClosedEvent):
                    watch._seen(path, complete=True)
                elif isinstance(event, FileCreatedEvent | FileModifiedEvent):
                    watch._seen(path, complete=False)

        return Handler()
