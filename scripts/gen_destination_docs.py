#!/usr/bin/env python3
"""Write the option tables of docs/destinations.md from schemas/transports/*.schema.json, so they cannot drift.

Run from the repository root:  python scripts/gen_destination_docs.py
With --check it writes nothing and exits 1 when docs/destinations.md is out of date.

Only the tables are generated; the prose around them is written by hand. Each table stands between

    <!-- options: generated from schemas/transports/NAME.schema.json by `python scripts/gen_destination_docs.py`;
         do not edit -->
    ...
    <!-- end of options -->

and is rendered as docs/configuration.md's tables are (scripts/gen_config_docs.py: type, default, description,
nested keys as a.b), except that the allowed values are said in the words wirepub's own messages use when an
option is refused (wirepub.transports.options.must), so the reference and the errors say the same.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas" / "transports"
OUTPUT = ROOT / "docs" / "destinations.md"
COMMAND = "python scripts/gen_destination_docs.py"

sys.path[:0] = [p for p in (str(Path(__file__).resolve().parent), str(ROOT / "src")) if p not in sys.path]
from gen_config_docs import _cell, rows  # noqa: E402 -- one way of rendering a schema's keys, shared

from wirepub.transports.options import must, node_at  # noqa: E402

BLOCK = re.compile(r"(<!-- options: generated from schemas/transports/(?P<name>[a-z0-9_-]+)\.schema\.json [^>]*-->\n)"
                   r"(?P<table>.*?)(<!-- end of options -->)", re.DOTALL)


def table(schema: dict[str, Any]) -> str:
    """The options of one transport as a Markdown table (or a line saying it takes none)."""
    found = rows(schema)
    if not found:
        return _cell(schema.get("description", "")) + "\n"
    lines = ["| Option | Type | Default | Allowed values | Description |", "| --- | --- | --- | --- | --- |"]
    for path, kind, default, _, description in found:
        allowed = must(node_at(schema, path.split(".")))
        lines.append(f"| `{path}` | {_cell(kind)} | {_cell(f'`{default}`' if default else '')} | "
                     f"{_cell(allowed)} | {_cell(description)} |")
    return "\n".join(lines) + "\n"


def schema_of(name: str, schemas: Path = SCHEMAS) -> dict[str, Any]:
    path = schemas / f"{name}.schema.json"
    if not path.exists():
        raise SystemExit(f"{OUTPUT.relative_to(ROOT)} has an options block for {path.name}, which does not exist")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def render(document: str, schemas: Path = SCHEMAS) -> str:
    """document with every options block's table generated anew from its schema."""
    return BLOCK.sub(lambda m: m.group(1) + table(schema_of(m.group("name"), schemas)) + m.group(4), document)


def blocks(document: str) -> list[str]:
    """The schemas document has blocks for, in order."""
    return [m.group("name") for m in BLOCK.finditer(document)]


def main(argv: list[str]) -> int:
    current = OUTPUT.read_text(encoding="utf-8")
    schemas = {p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json")}
    missing = sorted(schemas - set(blocks(current)))
    if missing:
        print(f"{OUTPUT.relative_to(ROOT)} has no options block for {', '.join(missing)}", file=sys.stderr)
        return 1
    text = render(current)
    if "--check" in argv:
        if text != current:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
