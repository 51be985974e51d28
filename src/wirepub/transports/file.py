"""file:// destinations: a folder on this machine (or a mounted share).

Writes are atomic: the bytes go to a temporary name in the same folder, are flushed to disk, and are then
renamed over the target, so a reader sees the old document or the new one, never half of one. A writer
killed between the two leaves a hidden temporary file; the first write into that folder by a later run
removes such leftovers once they are an hour old (a younger one may belong to another node at work), by the
transport's clock. A file:// destination takes no options (schemas/transports/file.schema.json).
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from wirepub.clock import Clock, SystemClock
from wirepub.errors import DestinationError
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


STALE_TEMP_SECONDS = 3600


class FileTransport:
    def __init__(self, destination: Destination, *, base_dir: Path, clock: Clock | None = None) -> None:
        self.url = shown(destination.url)   # what messages say: no query value
        self.clock: Clock = clock or SystemClock()
        check_options(f"destination {self.url}", "file", destination.options, "file")
        self.root = folder_of(destination.url, base_dir)
        self.location = str(self.root)
        self._swept: set[Path] = set()
        self._lock = threading.Lock()

    def _sweep(self, folder: Path) -> None:
        with self._lock:
            if folder in self._swept:
                return
            self._swept.add(folder)
        stale = self.clock.now().timestamp() - STALE_TEMP_SECONDS
        for leftover in folder.glob(".*.tmp"):
            try:
                if leftover.stat().st_mtime < stale:
                    leftover.unlink()
            except OSError:
                pass  # gone already, or not ours to remove: harmless either way

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
