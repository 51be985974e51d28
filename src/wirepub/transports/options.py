"""A destination's options, checked against its transport's JSON Schema (schemas/transports/<name>.schema.json).

The schema is the one place an option is described: its type, allowed values, bounds, default and meaning.
docs/destinations.md's option tables are generated from it (scripts/gen_destination_docs.py), and
check_options() refuses what it does not allow, in words for people:

    <destination>: unknown option(s) pasword_env for an ftp:// destination (known: ca_file, ...)
    <destination>: option connect_timeout must be a number of seconds above 0 and at most 3600
    <destination>: option host_key_policy must be one of 'reject', 'accept-new', not 'accept-all'

What an option "must be" is said by its schema's ``x-must`` where it has one (patterns say little to
people), else worked out from its type, enum and bounds (``x-unit`` names the unit of a number). Values are
never repeated, except a wrong choice from an enum. What needs code (a PEM file that must load, an
environment variable that must be set, options that go together) is checked by the transport afterwards.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators

from wirepub.errors import ConfigError
from wirepub.resources import schema_path

Schema = Mapping[str, Any]


def _pattern(validator: Any, pattern: str, instance: Any, schema: Schema) -> Iterator[ValidationError]:
    """"pattern" as JSON Schema means it (ECMA 262): a final $ is the end of the text. Python's $ also matches
    before a final line break, which would let "NAME\\n" through ^[A-Z_]+$."""
    if isinstance(instance, str) and not re.search(_ecma_end(pattern), instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _ecma_end(pattern: str) -> str:
    """pattern with a final anchoring $ (not an escaped \\$) made Python's end of text, \\Z."""
    body = pattern[:-1]
    backslashes = len(body) - len(body.rstrip("\\"))
    return body + r"\Z" if pattern.endswith("$") and backslashes % 2 == 0 else pattern


Validator = validators.extend(Draft202012Validator, {"pattern": _pattern})


@cache
def load_schema(name: str) -> Schema:
    """schemas/transports/<name>.schema.json, checked to be a valid JSON Schema."""
    schema: dict[str, Any] = json.loads(schema_path(f"transports/{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


def check_options(shown: str, scheme: str, options: Mapping[str, Any] | None, schema: str | Schema) -> dict[str, Any]:
    """The options, with the schema's defaults filled in; a ConfigError on the first thing the schema refuses.
    `shown` names the destination without secrets; `schema` is a name under schemas/transports/ or a schema."""
    doc = load_schema(schema) if isinstance(schema, str) else schema
    given = dict(options or {})
    errors = list(Validator(doc).iter_errors(given))
    if errors:
        order = list(doc.get("properties", {}))
        first = min(errors, key=lambda e: _rank(e, order))
        raise ConfigError(_said(first, shown, scheme, given, doc))
    return _with_defaults(doc, given)


def _rank(error: ValidationError, order: list[str]) -> tuple[int, int, str]:
    """Unknown options first, then the options in the schema's order."""
    path = list(error.absolute_path)
    if not path:
        return (0, 0, str(error.validator))
    top = str(path[0])
    return (1, order.index(top) if top in order else len(order), ".".join(map(str, path)))


def _said(error: ValidationError, shown: str, scheme: str, given: Mapping[str, Any], doc: Schema) -> str:
    path = [str(p) for p in error.absolute_path]
    known = sorted(doc.get("properties", {}))
    if not path and error.validator == "additionalProperties":
        unknown = ", ".join(sorted(set(given) - set(known)))
        if not known:
            return f"{shown}: unknown option(s) {unknown}: {article(scheme)} {scheme}:// destination takes no options"
        return (f"{shown}: unknown option(s) {unknown} for {article(scheme)} {scheme}:// destination "
                f"(known: {', '.join(known)})")
    node = node_at(doc, path)
    said = f"{shown}: option {'.'.join(path) or '(all)'} must be {must(node)}"
    if error.validator == "enum":
        said += f", not {error.instance!r}"
    return said


def article(scheme: str) -> str:
    """'an' before schemes read letter by letter with a vowel sound (an ftp://, an s3://), else 'a'."""
    spelt = not any(c in "aeiou" for c in scheme)
    return "an" if scheme[:1] in "aeiou" or (spelt and scheme[:1] in "fhlmnrsx") else "a"


def node_at(doc: Schema, path: list[str]) -> Schema:
    """The schema of the value at path (property names, or any name of an additionalProperties table)."""
    node = _resolved(doc, doc)
    for name in path:
        properties = node.get("properties", {})
        extra = node.get("additionalProperties")
        if name in properties:
            node = _resolved(properties[name], doc)
        elif isinstance(extra, Mapping):
            node = _resolved(extra, doc)
        else:
            break
    return node


def _resolved(node: Schema, doc: Schema) -> Schema:
    """A local $ref (#/...) followed, the referring node's own keys (its description, default) kept."""
    while isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def must(node: Schema) -> str:
    """What a value must be, for people: x-must, or from the type, enum and bounds."""
    if "x-must" in node:
        return str(node["x-must"])
    if "enum" in node:
        return "one of " + ", ".join(repr(v) for v in node["enum"])
    kind = node.get("type")
    if kind == "boolean":
        return "true or false"
    if kind in ("number", "integer"):
        said = "a whole number" if kind == "integer" else "a number"
        if "x-unit" in node:
            said += f" of {node['x-unit']}"
        bounds = [text.format(_number(node[key])) for key, text in (
            ("exclusiveMinimum", "above {}"), ("minimum", "of at least {}"),
            ("exclusiveMaximum", "below {}"), ("maximum", "at most {}")) if key in node]
        return " ".join([said, " and ".join(bounds)]).strip()
    if kind == "string":
        return "a non-empty string" if node.get("minLength", 0) >= 1 else "a string"
    if kind == "object":
        return "a table"
    return f"a {kind}" if isinstance(kind, str) else "a valid value"


def _number(value: float) -> str:
    return f"{value:g}"


def _with_defaults(node: Schema, value: dict[str, Any]) -> dict[str, Any]:
    """value with the defaults of the properties it lacks (a table's own defaults too, inside it)."""
    out = dict(value)
    for name, child in node.get("properties", {}).items():
        if name not in out and "default" in child:
            out[name] = copy.deepcopy(child["default"])
        if "properties" in child and isinstance(out.get(name, {}), dict):
            inner = _with_defaults(child, out.get(name, {}))
            if inner:
                out[name] = inner
    return out
