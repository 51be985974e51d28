"""Declarative field maps for the JSON formats (ninjs, JSON Feed): a partner's way of reshaping what we build,
without code and without templates (JSON is built as data, never templated). The map is plain data from the
configuration, applied to the built document before it is validated, so a map that breaks the format fails
loudly and ships nothing.

    [partners.field_map.ninjs]
    rename = { slugline = "x_slug" }             # move a field (dotted paths: "headlines.0.value")
    drop   = ["edNote", "infoSources"]           # leave fields out
    set    = { "x_source" = "wirepub:{id}" }      # add or overwrite, {placeholders} from the story

JSON Feed has two levels: `feed` (the document) and `item` (each item), each a map as above.
Placeholders: {id}, {version}, {headline}, {language}, {url}, {slug}, {byline}, {guid}.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wirepub.story import Story


def apply_map(doc: dict[str, Any], ops: Mapping[str, Any], story: Story | None, guid: str = "") -> dict[str, Any]:
    """The document reshaped by one map (rename, then drop, then set)."""
    if not ops:
        return doc
    for old, new in ops.get("rename", {}).items():
        found, value = _pop(doc, old)
        if found:
            _put(doc, new, value)
    for path in ops.get("drop", ()):
        _pop(doc, path)
    for path, value in ops.get("set", {}).items():
        _put(doc, path, _fill(value, story, guid))
    return doc


def _fill(value: Any, story: Story | None, guid: str) -> Any:
    if not isinstance(value, str) or story is None or "{" not in value:
        return value
    values = {"id": story.id, "version": story.version, "headline": story.headline, "language": story.language,
              "url": story.url or "", "slug": story.slug or "", "byline": story.byline or "", "guid": guid}
    return value.format_map(values)


def _steps(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def _pop(doc: Any, path: str) -> tuple[bool, Any]:
    *parents, last = _steps(path)
    node = doc
    for step in parents:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return False, None
    try:
        return True, node.pop(last)
    except (KeyError, IndexError, TypeError, AttributeError):
        return False, None


def _put(doc: Any, path: str, value: Any) -> None:
    *parents, last = _steps(path)
    node = doc
    for step in parents:
        node = node.setdefault(step, {}) if isinstance(node, dict) else node[step]
    node[last] = value
