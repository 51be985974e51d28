"""The hot folder: stories dropped into a folder as .json (the story contract), .md (Markdown with YAML
front matter) or .txt (raw text as a newsroom receives it).

Files that cannot be published are set aside into the rejected folder with a .error.txt beside them that
says file, field and reason; they are never deleted, and the rest of the batch goes on.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from wirepub.clock import Clock, SystemClock
from wirepub.errors import StoryError
from wirepub.sources import Collected, Rejection
from wirepub.sources.plaintext import parse_plain_text
from wirepub.story import Story, StoryDefaults, story_from_document

MAX_FILE_BYTES = 16 * 1024 * 1024
SUFFIXES = {".json": "json", ".md": "markdown", ".markdown": "markdown", ".txt": "text"}


class _StringScalarLoader(yaml.SafeLoader):
    """YAML that leaves dates as the strings they were written as, so the story contract judges them
    (PyYAML would quietly turn an offset-less time into a naive datetime)."""


_StringScalarLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class HotFolder:
    """A Source (wirepub.sources) reading a folder; refs are the files' paths."""

    name = "folder"

    def __init__(self, path: Path, *, rejected: Path, language: str = "en",
                 copyright_holder: str | None = None, copyright_notice: str | None = None,
                 usage_terms: str | None = None, clock: Clock | None = None) -> None:
        self.path = path
        self.rejected = rejected
        self.clock = clock or SystemClock()
        self._done: dict[str, tuple[int, int]] = {}  # path -> (mtime_ns, size) of files already recorded
        self._defaults = StoryDefaults(language=language, copyright_holder=copyright_holder,
                                       copyright_notice=copyright_notice, usage_terms=usage_terms)

    def files(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        return sorted(
            p for p in self.path.iterdir()
            if p.suffix.lower() in SUFFIXES and p.is_file() and not p.name.startswith((".", "~"))
        )

    def collect(self, *, settle: float = 0.0, settled: Collection[str] = ()) -> Collected:
        """Read every story file; bad ones are reported (not yet moved: see reject). With settle, a file
        changed in the last `settle` seconds may still be being written and is left for the next look,
        unless it is in `settled` (the watch saw it closed or renamed into place)."""
        out = Collected()
        young = self.clock.now().timestamp() - settle
        for path in self.files():
            ref = str(path)
            if self._done.get(ref) == _signature(path):
                continue  # read and recorded before, unchanged since: a long-lived daemon reads it once
            if settle and ref not in settled and _mtime(path) > young:
                out.unsettled.append(ref)
                continue
            try:
                out.stories.append(self.read(ref))
            except StoryError as exc:
                out.rejected.append(Rejection(ref, exc))
        out.stories.sort(key=lambda s: (s.version_created, s.id, s.version))
        return out

    def done(self, origin: str) -> None:
        """The story read from this file is recorded: skip the file until it changes."""
        self._done[origin] = _signature(Path(origin))

    def read(self, ref: str) -> Story:
        path = Path(ref)
        origin = ref
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise StoryError(f"{size:,} bytes, more than the {MAX_FILE_BYTES:,} a story file may have",
                             file=origin)
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise StoryError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at line {line}); save it as UTF-8",
                             file=origin) from None
        kind = SUFFIXES[path.suffix.lower()]
        document = (
            _json_document(text, origin) if kind == "json"
            else _markdown_document(text, origin) if kind == "markdown"
            else _text_document(text, path)
        )
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)  # the file's own time, not the clock's
        defaults = dataclasses.replace(self._defaults, version_created=mtime)
        return story_from_document(document, origin=origin, defaults=defaults)

    def reject(self, rejection: Rejection) -> None:
        """Move a file of the hot folder that cannot be published into the rejected folder, with the reason
        beside it. A file elsewhere (wirepub validate FILE) is left where it is."""
        path = Path(rejection.ref)
        if path.exists() and path.is_relative_to(self.path):
            self.set_aside(path, rejection.error)

    def set_aside(self, path: Path, error: StoryError) -> Path:
        self.rejected.mkdir(parents=True, exist_ok=True)
        target = self.rejected / path.name
        if target.exists():
            stamp = self.clock.now().astimezone(UTC).strftime("%Y%m%dT%H%M%S%f")
            target = self.rejected / f"{path.stem}.{stamp}{path.suffix}"
        if path.exists():
            os.replace(path, target)
        target.with_name(target.name + ".error.txt").write_text(f"{error}\n", encoding="utf-8")
        return target


def _signature(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except FileNotFoundError:
        return (0, -1)
    return (st.st_mtime_ns, st.st_size)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _json_document(text: str, origin: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoryError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                         file=origin) from None
    if not isinstance(data, dict):
        raise StoryError("a story file holds one JSON object", file=origin)
    return data


def _markdown_document(text: str, origin: str) -> dict[str, Any]:
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "---":
        raise StoryError("a Markdown story starts with front matter between two '---' lines", file=origin,
                         field="front matter")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
    except StopIteration:
        raise StoryError("front matter is not closed by a '---' line", file=origin,
                         field="front matter") from None
    try:
        meta = yaml.load("\n".join(lines[1:end]), Loader=_StringScalarLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise StoryError(f"front matter is not valid YAML{where}: {getattr(exc, 'problem', exc)}",
                         file=origin, field="front matter") from None
    if not isinstance(meta, dict):
        raise StoryError("front matter must be a mapping of story fields", file=origin, field="front matter")
    if "body" in meta:
        raise StoryError("the body is the Markdown after the front matter, not a front-matter key",
                         file=origin, field="body")
    return {**meta, "body": "\n".join(lines[end + 1:]).strip("\n"),
            "body_format": meta.get("body_format", "markdown")}


def _text_document(text: str, path: Path) -> dict[str, Any]:
    try:
        return parse_plain_text(text, name=path.stem)
    except ValueError as exc:
        raise StoryError(str(exc), file=str(path)) from None
