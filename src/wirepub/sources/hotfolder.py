"""The hot folder: stories dropped into a folder as .json, .md or .txt files (sources/storyfiles.py).

It publishes only what was put in it: a symbolic link (to /etc/passwd, into /proc, out of the folder) is
refused with its reason and never followed, and so is anything that is not a regular file; files are opened
with O_NOFOLLOW and checked again once open. It never judges half a file: a file changed in the last
`settle` seconds waits (unless the daemon's watch saw it closed or renamed into place), and JSON that stops
short in a file changed that recently is looked at again rather than rejected. One file never blocks the
rest: whatever goes wrong reading one file sets that file aside with the reason (a file that vanished
meanwhile is skipped), and the others go on.

Files that cannot be published are moved into the rejected folder with a .error.txt beside them that says
file, field and reason; they are never deleted. The safe way to drop a file is to write it elsewhere on the
same file system and rename it in (docs/story-format.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import stat
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from wirepub.clock import Clock, SystemClock
from wirepub.errors import SourceError, StoryError
from wirepub.logs import facts
from wirepub.progress import Progress, Quiet, Stage
from wirepub.sources import Collected, Memory, Rejection
from wirepub.sources.pictures import local_pictures
from wirepub.sources.storyfiles import MAX_FILE_BYTES, SUFFIXES, Incomplete, document_of
from wirepub.story import Story, StoryDefaults, story_from_document

log = logging.getLogger("wirepub.sources.hotfolder")



class HotFolder:
    """A Source (wirepub.sources) reading a folder; refs are the files' paths."""

    kind = "folder"
    interval: float | None = None

    def __init__(self, path: Path, *, rejected: Path, language: str = "en",
                 copyright_holder: str | None = None, copyright_notice: str | None = None,
                 usage_terms: str | None = None, clock: Clock | None = None, memory: Memory | None = None,
                 name: str = "folder") -> None:
        self.name = name
        self.path = path
        self.rejected = rejected
        self.clock = clock or SystemClock()
        self.memory = memory          # the store's record of what was read; without one, this process's only
        self.key = f"folder:{path}"   # what the memory files this folder's fingerprints under
        self._seen: set[int] = set()         # without a memory: fingerprints of files read and recorded
        self._looked: dict[str, int] = {}    # ref -> fingerprint of the files the last collect read
        self._defaults = StoryDefaults(language=language, copyright_holder=copyright_holder,
                                       copyright_notice=copyright_notice, usage_terms=usage_terms)

    def collect(self, *, settle: float = 0.0, settled: Collection[str] = (),
                only: Collection[str] | None = None, progress: Progress | None = None) -> Collected:
        """Read every story file that is new or changed (its fingerprint, of name, size, modification time and
        inode, is not among those recorded); bad ones are reported (not yet moved: see reject). With settle,
        a file changed in the last `settle` seconds may still be being written and is left for the next
        look, unless it is in `settled` (the watch saw it closed or renamed into place). With only, just
        those files are looked at."""
        out = Collected()
        now = self.clock.now().timestamp()
        looked: list[tuple[str, os.stat_result, int]] = []
        for entry in self._entries(only):
            problem = _refused(entry)
            if problem is not None:
                out.rejected.append(Rejection(entry.path, StoryError(problem, file=_shown(entry.path))))
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # gone since the listing: nothing to do
            looked.append((entry.path, st, fingerprint(entry.name, st)))
        seen = self._recorded([fp for _, _, fp in looked], everything=only is None)
        self._looked = {}
        stages = progress or Quiet()
        stages.start(Stage.READ, sum(fp not in seen for _, _, fp in looked))
        for ref, st, print_ in looked:
            if print_ in seen:
                out.unchanged += 1   # read and recorded before, unchanged since: read once
                continue
            # Changed in the last `settle` seconds; a time further ahead than that is a skewed clock or a touch
            # into the future, not a writer at work, and is judged now rather than waited for until that time.
            young = settle > 0 and -settle < now - st.st_mtime < settle
            if young and ref not in settled:
                out.unsettled.append(ref)
                continue
            self._looked[ref] = print_
            self._read_into(out, ref, young=young)
            stages.advance(Stage.READ)
        stages.finish(Stage.READ)
        out.stories.sort(key=lambda s: (s.version_created, s.id, s.version))
        return out

    def _recorded(self, prints: list[int], *, everything: bool) -> set[int]:
        """Which of these fingerprints were read and recorded before. Without a memory, this process's own
        record; with one, the store's: all of it for a look at the whole folder (kept for no longer), just
        these for a look at a few files."""
        if self.memory is None:
            return self._seen
        if everything:
            return self.memory.fingerprints(self.key)
        return self.memory.known(self.key, prints)

    def _read_into(self, out: Collected, ref: str, *, young: bool) -> None:
        try:
            out.stories.append(self.read(ref))
        except FileNotFoundError:
            pass  # removed while we looked
        except Incomplete as exc:
            if young:
                out.unsettled.append(ref)  # JSON that stops short, written just now: look again
            else:
                out.rejected.append(Rejection(ref, exc))
        except StoryError as exc:
            out.rejected.append(Rejection(ref, exc))
        except Exception as exc:  # one odd file must never stop the others
            log.exception("story file could not be read", extra=facts(file=_shown(ref)))
            out.rejected.append(Rejection(ref, StoryError(
                f"could not be read ({type(exc).__name__}: {exc})", file=_shown(ref))))

    def _entries(self, only: Collection[str] | None = None) -> Iterable[Entry]:
        """The folder's story files, by name; with only, just those files (no listing of the folder)."""
        if only is not None:
            names = {os.path.basename(ref) for ref in only}
            return [_PathEntry(self.path, name) for name in sorted(names)
                    if _is_story_name(name) and os.path.lexists(self.path / name)]
        try:
            with os.scandir(self.path) as listing:
                entries: list[Entry] = [e for e in listing if _is_story_name(e.name)]
        except FileNotFoundError:
            raise SourceError(f"the hot folder {self.path} does not exist; create it, or set source.path to the "
                              "folder stories are dropped into") from None
        except NotADirectoryError:
            raise SourceError(f"the hot folder {self.path} is not a folder; set source.path to a folder") from None
        except OSError as exc:
            raise SourceError(f"the hot folder {self.path} cannot be read: {exc.strerror or exc}") from None
        return sorted(entries, key=lambda e: e.name)

    def check(self) -> str:
        """The folder can be listed (and the rejected folder made); how many story files wait in it."""
        entries = list(self._entries())
        try:
            self.rejected.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SourceError(f"the rejected folder {self.rejected} cannot be made: {exc.strerror or exc}") from None
        if not os.access(self.path, os.W_OK):
            raise SourceError(f"the hot folder {self.path} is not writable by wirepub: rejected files cannot be "
                              "moved out of it; give the user wirepub runs as write access")
        return f"{self.path}: {len(entries)} story file(s) in it"

    def done(self, refs: Sequence[str]) -> None:
        """The stories read from these files are recorded: skip each file until it changes."""
        items = [(ref, self._looked[ref]) for ref in refs if ref in self._looked]
        if self.memory is None:
            self._seen.update(fp for _, fp in items)
        else:
            self.memory.remember(self.key, items, self.clock.now())

    def read(self, ref: str) -> Story:
        """One story file (also a file outside the folder: wirepub validate). Raises StoryError."""
        origin = _shown(ref)
        raw, mtime = _read_regular_file(ref, origin)
        document = document_of(raw, os.path.basename(ref), origin)
        document, pictures = local_pictures(document, Path(ref).parent, origin)
        defaults = dataclasses.replace(self._defaults, version_created=datetime.fromtimestamp(mtime, UTC))
        story = story_from_document(document, origin=ref, defaults=defaults)
        if pictures:
            story = dataclasses.replace(story, media_files=pictures)
        named = SUFFIXES[os.path.splitext(ref)[1].lower()] == "text"   # plain text: the id is its file name's
        return dataclasses.replace(story, named_by=os.path.basename(origin)) if named else story

    def reject(self, rejection: Rejection) -> None:
        """Move a file of the hot folder that cannot be published into the rejected folder, with the reason
        beside it. A file elsewhere (wirepub validate FILE) is left where it is."""
        path = Path(rejection.ref)
        if os.path.lexists(path) and path.parent == self.path:
            self.set_aside(path, rejection.error)

    def set_aside(self, path: Path, error: StoryError) -> Path:
        self.rejected.mkdir(parents=True, exist_ok=True)
        target = self.rejected / path.name
        if os.path.lexists(target):
            stamp = self.clock.now().astimezone(UTC).strftime("%Y%m%dT%H%M%S%f")
            target = self.rejected / f"{path.stem}.{stamp}{path.suffix}"
        try:
            os.replace(path, target)   # a symbolic link is moved as the link, never followed
        except FileNotFoundError:
            return target
        note = target.with_name(target.name + ".error.txt")
        note.write_text(f"{error}\n", encoding="utf-8", errors="replace")
        return target


class Entry(Protocol):
    """What is read of a folder entry: os.DirEntry, or _PathEntry for one file named by the watch."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...

    def is_symlink(self) -> bool: ...
    def is_dir(self, *, follow_symlinks: bool = True) -> bool: ...
    def is_file(self, *, follow_symlinks: bool = True) -> bool: ...
    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result: ...


class _PathEntry:
    """One file of the folder by name, answering as os.DirEntry does, from lstat (links never followed)."""

    def __init__(self, folder: Path, name: str) -> None:
        self.name = name
        self.path = str(folder / name)

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        return os.lstat(self.path)

    def is_symlink(self) -> bool:
        return stat.S_ISLNK(self.stat().st_mode)

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        return stat.S_ISDIR(self.stat().st_mode)

    def is_file(self, *, follow_symlinks: bool = True) -> bool:
        return stat.S_ISREG(self.stat().st_mode)


def _is_story_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in SUFFIXES and not name.startswith((".", "~"))


def fingerprint(name: str, st: os.stat_result) -> int:
    """A file as it is now, in 64 bits: another name, size, modification time or inode (a file replaced under
    the same name) gives another."""
    key = f"{name}\0{st.st_mtime_ns}\0{st.st_size}\0{st.st_ino}".encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big", signed=True)


def _shown(ref: str) -> str:
    """A path as messages say it: a name that is not valid UTF-8 shows its bad bytes as U+FFFD."""
    return ref.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _refused(entry: Entry) -> str | None:
    """Why this entry of the folder is not a story file to read, or None if it may be read."""
    try:
        entry.name.encode("utf-8")
    except UnicodeEncodeError:
        return "the file name is not valid UTF-8; rename the file (its text may be anything UTF-8)"
    try:
        if entry.is_symlink():
            target = os.readlink(entry.path)
            return (f"a symbolic link (to {_shown(target)}): wirepub publishes only files put into the hot folder "
                    "itself, and never follows a link; copy the file in instead")
        if entry.is_dir(follow_symlinks=False):
            return "a folder, not a story file"
        if not entry.is_file(follow_symlinks=False):
            return "not a regular file (a pipe, socket or device); only files are read"
    except FileNotFoundError:
        return None  # gone: the stat that follows finds that out
    return None


def _read_regular_file(ref: str, origin: str) -> tuple[bytes, float]:
    """The bytes and modification time of a regular file, opened without following a link."""
    try:
        fd = os.open(ref, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        if exc.errno == getattr(os, "ELOOP", -1):
            raise StoryError("a symbolic link: never followed; copy the file in instead", file=origin) from None
        raise StoryError(f"cannot be opened: {exc.strerror or exc}", file=origin) from None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise StoryError("not a regular file; only files are read", file=origin)
        if st.st_size > MAX_FILE_BYTES:
            raise StoryError(f"{st.st_size:,} bytes, more than the {MAX_FILE_BYTES:,} a story file may have",
                             file=origin)
        return handle.read(MAX_FILE_BYTES + 1), st.st_mtime
