#!/usr/bin/env python3
"""Write docs/configuration.md from schemas/config.schema.json, so the reference cannot drift from the schema.

Run from the repository root:  python scripts/gen_config_docs.py
With --check it writes nothing and exits 1 when docs/configuration.md is out of date.
The output depends only on the schema (no dates, no dict-order surprises beyond the schema's own key order).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "schemas" / "config.schema.json"
OUTPUT = ROOT / "docs" / "configuration.md"
COMMAND = "python scripts/gen_config_docs.py"
MISSING = "—"

Row = tuple[str, str, str, str, str]  # path, type, default, allowed values, description


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow a local $ref (#/...), keeping the referring node's own keys (e.g. its description)."""
    seen = 0
    while "$ref" in node and seen < 20:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            break
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        seen += 1
    return node


def _value(value: Any) -> str:
    """A default or allowed value as it is written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def _type(node: dict[str, Any], root: dict[str, Any]) -> str:
    node = _resolve(node, root)
    if "oneOf" in node or "anyOf" in node:
        return " or ".join(dict.fromkeys(_type(v, root) for v in node.get("oneOf", node.get("anyOf", []))))
    kind = node.get("type")
    if kind is None:
        if "enum" in node:
            kinds = {type(v).__name__ for v in node["enum"]}
            kind = "string" if kinds == {"str"} else "/".join(sorted(kinds))
        elif "const" in node:
            kind = "string" if isinstance(node["const"], str) else type(node["const"]).__name__
        else:
            return "any"
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind == "object":
        kind = "table"
    if kind == "array":
        items = node.get("items")
        return f"array of {_type(items, root)}" if isinstance(items, dict) else "array"
    return str(kind)


def _allowed(node: dict[str, Any], root: dict[str, Any]) -> str:
    node = _resolve(node, root)
    parts: list[str] = []
    if "enum" in node:
        parts.append("one of " + ", ".join(f"`{_value(v)}`" for v in node["enum"]))
    if "const" in node:
        parts.append(f"`{_value(node['const'])}`")
    if "pattern" in node:
        parts.append(f"matches `{node['pattern']}`")
    for key, text in (("minimum", ">= {}"), ("exclusiveMinimum", "> {}"), ("maximum", "<= {}"),
                      ("exclusiveMaximum", "< {}"), ("minLength", "at least {} characters"),
                      ("maxLength", "at most {} characters"), ("minItems", "at least {} items"),
                      ("maxItems", "at most {} items"), ("minProperties", "at least {} keys")):
        if key in node:
            parts.append(text.format(_value(node[key])))
    if node.get("uniqueItems"):
        parts.append("no duplicates")
    if "format" in node:
        parts.append(f"format {node['format']}")
    names = node.get("propertyNames")
    if isinstance(names, dict) and "enum" in names:
        parts.append("keys: " + ", ".join(f"`{v}`" for v in names["enum"]))
    items = node.get("items")
    if isinstance(items, dict):
        inner = _allowed(items, root)
        if inner:
            parts.append(f"each item: {inner}")
    for variant in node.get("oneOf", []):
        inner = _allowed(variant, root)
        if inner:
            parts.append(f"as {_type(variant, root)}: {inner}")
    if node.get("required") and node.get("type") == "object":
        parts.append("requires " + ", ".join(f"`{r}`" for r in node["required"]))
    return "; ".join(parts)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|") or MISSING


def rows(schema: dict[str, Any]) -> list[Row]:
    """Every key of the schema, depth first in the schema's own order, as TOML paths."""
    out: list[Row] = []

    def walk(node: dict[str, Any], path: str, depth: int) -> None:
        node = _resolve(node, schema)
        if depth > 10:
            return
        for name, child in node.get("properties", {}).items():
            child = _resolve(child, schema)
            key = f"{path}.{name}" if path else name
            default = _value(child["default"]) if "default" in child else ""
            out.append((key, _type(child, schema), default, _allowed(child, schema), child.get("description", "")))
            walk_children(child, key, depth + 1)

    def walk_children(node: dict[str, Any], key: str, depth: int) -> None:
        if "properties" in node:
            walk(node, key, depth)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and extra.get("properties"):
            walk(extra, f"{key}.<name>", depth)
        items = node.get("items")
        if isinstance(items, dict):
            items = _resolve(items, schema)
            if "properties" in items:
                walk(items, f"{key}[]", depth)
            for variant in items.get("oneOf", []) + items.get("anyOf", []):
                variant = _resolve(variant, schema)
                if "properties" in variant:
                    walk(variant, f"{key}[]", depth)

    walk(schema, "", 0)
    return out


def render(schema: dict[str, Any]) -> str:
    lines = [
        "# Configuration reference",
        "",
        f"<!-- Generated from schemas/config.schema.json by `{COMMAND}`. Do not edit by hand. -->",
        "",
        _cell(schema.get("description", "")),
        "",
        "Keys are TOML paths in `wirepub.toml`: `a.b` is key `b` of table `[a]`; `partners[].x` is key `x` of each",
        "`[[partners]]` entry. For destinations, see [destinations.md](destinations.md).",
        "",
    ]
    current = None
    for path, kind, default, allowed, description in rows(schema):
        section = path.split(".")[0].split("[")[0]
        if section != current:
            current = section
            top = _resolve(schema["properties"][section], schema)
            lines += [f"## `{section}`", "", _cell(top.get("description", "")), "",
                      "| Key | Type | Default | Allowed values | Description |",
                      "| --- | --- | --- | --- | --- |"]
            if path == section:
                continue
        lines.append(f"| `{path}` | {_cell(kind)} | {_cell(f'`{default}`' if default else '')} | "
                     f"{_cell(allowed)} | {_cell(description)} |")
    lines.insert(len(lines), "")
    return "\n".join(_sections(lines)) + "\n"


def _sections(lines: list[str]) -> list[str]:
    """A blank line after each table, before the next heading."""
    out: list[str] = []
    for line in lines:
        if line.startswith("## ") and out and out[-1] != "":
            out.append("")
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return out


def missing_descriptions(schema: dict[str, Any]) -> list[str]:
    return [path for path, _, _, _, description in rows(schema) if not description]


def generate(schema_path: Path = SCHEMA) -> str:
    return render(json.loads(schema_path.read_text(encoding="utf-8")))


def main(argv: list[str]) -> int:
    text = generate()
    if "--check" in argv:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    if "--missing" in argv:
        print("\n".join(missing_descriptions(json.loads(SCHEMA.read_text(encoding="utf-8")))))
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
