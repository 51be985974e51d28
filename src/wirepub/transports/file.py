"""file:// destinations: a folder on this machine (or a mounted share).

Writes are atomic: the bytes go to a temporary name in the same folder, are flushed to disk, and are then
renamed over the target, so a reader sees the old document or the new one, never half of one. A writer
killed between the two leaves a hidden temporary file (``.<name>.<random>.tmp``). Such leftovers are
removed once they are an hour old (a younger one may belong to another node at work), by the transport's
clock: in the whole folder tree when the transport is opened (at the start of every push and of the
daemon; the most recently changed folders first, symlinks neither followed nor removed, at most
SWEEP_MAX_FOLDERS folders and SWEEP_MAX_ENTRIES names looked at), and in a folder at the first write into
it. What was removed is logged. A file:// destination takes no options (schemas/transports/file.schema.json).
"""

from __future__ import annotations

import heapq
import logging
import os
import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from wirepub.clock import Clock, SystemClock
from wirepub.errors import DestinationError
from wirepub.logs import facts
from wirepub.transports import Destination, Put
from wirepub.transports.errors import Refused, Unreachable
from wirepub.transports.options import check_options
from wirepub.urls import shown
from wirepub.vocabulary import PutKind


def folder_of(url: str, base_dir: Path) -> Path:
    """file:///abs/path, file:relative/path, file://./relative or a plain path; relative to base_dir."""
    if "://" in url or url.startswith("file:"):
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost", "."):
            raise DestinationError(f"destination {shown(url)!r}: file URLs name no host (use file:///path)")
        raw = unquote(parts.path)
        if parts.netloc == ".":
            raw = raw.lstrip("/")
    else:
        raw = url
    return (base_dir / os.path.expanduser(raw)).resolve()


log = logging.getLogger(__name__)

STALE_TEMP_SECONDS = 3600
SWEEP_MAX_FOLDERS = 10_000      # folders looked into when a transport is opened
SWEEP_MAX_ENTRIES = 200_000     # names looked at then
SHOWN_REMOVED = 20              # removed files named in the log line
# What put()'s tempfile.mkstemp(prefix=".<name>.", suffix=".tmp") makes: hidden, a random part, .tmp.
TEMP_NAME = re.compile(r"\A\..+\.[a-z0-9_]{6,}\.tmp\Z")


@dataclass
class Swept:
    removed: list[str] = field(default_factory=list)
    folders: int = 0
    entries: int = 0
    complete: bool = True


def sweep_tree(root: Path, stale_before: float, *, max_folders: int = SWEEP_MAX_FOLDERS,
               max_entries: int = SWEEP_MAX_ENTRIES) -> Swept:
    """Remove wirepub's temporary files last modified before stale_before (unix time) below root. Folders
    are looked into most recently changed first (creating a temporary file changed its folder), so the
    bounds leave out old folders first. Symlinks are neither followed nor removed; what cannot be read or
    removed is left."""
    swept = Swept()
    queue = [(0.0, str(root))]
    while queue:
        if swept.folders >= max_folders or swept.entries >= max_entries:
            swept.complete = False
            break
        _, folder = heapq.heappop(queue)
        swept.folders += 1
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    swept.entries += 1
                    _look_at(entry, stale_before, queue, swept)
                    if swept.entries >= max_entries:
                        break
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return swept


def _look_at(entry: os.DirEntry[str], stale_before: float, queue: list[tuple[float, str]], swept: Swept) -> None:
    try:
        if entry.is_dir(follow_symlinks=False):
            heapq.heappush(queue, (-entry.stat(follow_symlinks=False).st_mtime, entry.path))
        elif (TEMP_NAME.match(entry.name) and entry.is_file(follow_symlinks=False)
              and entry.stat(follow_symlinks=False).st_mtime < stale_before):
            os.unlink(entry.path)
            swept.removed.append(entry.path)
    except OSError:
        pass  # gone already, or not ours to remove: harmless either way


class FileTransport:
    def __init__(self, destination: Destination, *, base_dir: Path, clock: Clock | None = None) -> None:
        self.url = shown(destination.url)   # what messages say: no query value
        self.clock: Clock = clock or SystemClock()
        check_options(f"destination {self.url}", "file", destination.options, "file")
        self.root = folder_of(destination.url, base_dir)
        self.location = str(self.root)
        self._swept: set[Path] = set()
        self._lock = threading.Lock()
        self._sweep(self.root, whole_tree=True)

    def _sweep(self, folder: Path, *, whole_tree: bool = False) -> None:
        """Remove stale temporary files: below folder at opening (whole_tree), else in folder, once."""
        with self._lock:
            if folder in self._swept and not whole_tree:
                return
            self._swept.add(folder)
        if not folder.is_dir():
            return
        swept = sweep_tree(folder, self.clock.now().timestamp() - STALE_TEMP_SECONDS,
                           max_folders=SWEEP_MAX_FOLDERS if whole_tree else 1)
        if swept.removed:
            log.info("removed stale temporary files", extra=facts(
                destination=self.url, count=len(swept.removed),
                files=[os.path.relpath(p, self.root) for p in swept.removed[:SHOWN_REMOVED]]))
        if whole_tree and not swept.complete:
            log.info("stopped sweeping temporary files at the bound; the rest are left for the next start",
                     extra=facts(destination=self.url, folders=swept.folders, entries=swept.entries))

    def target(self, path: str) -> Path:
        target = (self.root / path).resolve()
        if not target.is_relative_to(self.root) or target == self.root:
            raise Refused(f"destination {self.url}: path {path!r} would leave the folder {self.root}")
        return target

    def put(self, doc: Put) -> None:
        path, data = doc.path, doc.data
        target = self.target(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._sweep(target.parent)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            # A full disk or a missing mount may mend itself; retry. (Permissions usually do not, but an
            # operator fixing them should not have to resend by hand, so they are retried too.)
            raise Unreachable(f"destination {self.url}: cannot write {path}: {exc.strerror or exc}") from None

    def delete(self, path: str) -> None:
        try:
            self.target(path).unlink(missing_ok=True)
        except OSError as exc:
            raise Unreachable(f"destination {self.url}: cannot remove {path}: {exc.strerror or exc}") from None

    def probe(self) -> None:
        probe = Put(".wirepub-probe", b"wirepub probe\n", "text/plain", kind=PutKind.PROBE)
        self.put(probe)
        self.delete(probe.path)

    def close(self) -> None:
        pass
