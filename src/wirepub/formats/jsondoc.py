"""JSON documents as wirepub writes them: UTF-8, indented two spaces (so that a schema error can name its
line, validate.json_line), by orjson: the same text as json.dumps(indent=2, ensure_ascii=False), at a
fraction of the time (json's indented encoder is pure Python; it was most of a ninjs render)."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(doc: Any) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"


def loads(data: bytes) -> Any:
    return orjson.loads(data)
