"""Story files: the bytes of a .json (the story contract), .md (Markdown with YAML front matter) or .txt
(raw text as a newsroom receives it) file, into a story document. Shared by the sources that take files
(the hot folder, an S3 inbox); no file system here, only bytes and a name.
"""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any

import yaml

from wirepub.errors import StoryError
from wirepub.sources.plaintext import parse_plain_text

MAX_FILE_BYTES = 16 * 1024 * 1024
SUFFIXES = {".json": "json", ".md": "markdown", ".markdown": "markdown", ".txt": "text"}


class Incomplete(StoryError):
    """Not (yet) a whole document: JSON that ends too soon. A file written just now may still be growing."""


def document_of(raw: bytes, name: str, origin: str) -> dict[str, Any]:
    """The story document in a file's bytes; `name` gives its kind (by suffix) and, for text, its id.
    Raises StoryError (Incomplete for JSON that stops short)."""
    if len(raw) > MAX_FILE_BYTES:
        raise StoryError(f"{len(raw):,} bytes, more than the {MAX_FILE_BYTES:,} a story file may have", file=origin)
    kind = SUFFIXES.get(PurePath(name).suffix.lower())
    if kind is None:
        raise StoryError(f"not a story file: wirepub reads {', '.join(SUFFIXES)}", file=origin)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise StoryError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at line {line}); save it as UTF-8",
                         file=origin) from None
    try:
        if kind == "json":
            return _json_document(text, origin)
        if kind == "markdown":
            return _markdown_document(text, origin)
        return _text_document(text, PurePath(name).stem, origin)
    except RecursionError:
        raise StoryError("nested too deeply to be a story", file=origin) from None


class _StringScalarLoader(yaml.SafeLoader):
    """YAML that leaves dates as the strings they were written as, so the story contract judges them
    (PyYAML would quietly turn an offset-less time into a naive datetime)."""


_StringScalarLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}



def _json_document(text: str, origin: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # It stops short (maybe still being written): the parser ran out of text, or of a string.
        short = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        raise (Incomplete if short else StoryError)(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}", file=origin) from None
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


def _text_document(text: str, stem: str, origin: str) -> dict[str, Any]:
    try:
        return parse_plain_text(text, name=stem)
    except ValueError as exc:
        raise StoryError(str(exc), file=origin) from None
