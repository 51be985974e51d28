"""Every document is checked before it leaves: against wirepub's own profile of its format (schemas/),
and against the official schema where one is configured. Schemas are compiled once per process.

A failure raises DocumentInvalid naming the story, the format, the line and the schema's message.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
from jsonschema.exceptions import best_match
from lxml import etree

from wirepub.errors import ConfigError, DocumentInvalid
from wirepub.formats import Format
from wirepub.resources import schema_path

# No network, no entity expansion: documents are ours, but a template override is not.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@cache
def _xml_schema(path: Path) -> etree.XMLSchema:
    try:
        return etree.XMLSchema(etree.parse(str(path), etree.XMLParser(no_network=True)))
    except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        raise ConfigError(f"XML schema {path} cannot be compiled: {exc}") from None


@cache
def _json_schema(path: Path) -> tuple[Any, jsonschema.protocols.Validator]:
    """The schema compiled twice: by jsonschema-rs, which checks every document (PERFORMANCE-NOTES: some
    100 times faster), and by jsonschema, the reference, which words the error of a document refused."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        fast = jsonschema_rs.validator_for(schema)
    except (OSError, ValueError, jsonschema.SchemaError) as exc:
        raise ConfigError(f"JSON schema {path} cannot be used: {exc}") from None
    return fast, cls(schema)


class Validator:
    """Checks documents of each format against its profile and any official schema configured for it."""

    def __init__(self, official: dict[str, Path] | None = None) -> None:
        self.official = dict(official or {})
        self._schemas: dict[str, list[Path]] = {}

    def schemas_for(self, format_name: str, profile: str | Path) -> list[Path]:
        extra = self.official.get(format_name)
        own = profile if isinstance(profile, Path) else schema_path(profile)
        return [own, *([extra] if extra else [])]

    def check(self, data: bytes, fmt: Format, *, story: str) -> None:
        """Raises DocumentInvalid naming the story (or file), the format, the line and the schema's message."""
        schemas = self._schemas.get(fmt.name)
        if schemas is None:
            schemas = self._schemas[fmt.name] = self.schemas_for(fmt.name, fmt.schema)
        if str(fmt.schema).endswith(".xsd"):
            self._check_xml(data, schemas, fmt.name, story)
        else:
            self._check_json(data, schemas, fmt.name, story)

    @staticmethod
    def _check_xml(data: bytes, schemas: list[Path], fmt: str, story: str) -> None:
        try:
            doc = etree.fromstring(data, _PARSER)
        except etree.XMLSyntaxError as exc:
            raise DocumentInvalid(story=story, format=fmt, line=exc.lineno, message=f"not well-formed: {exc.msg}",
                                  schema="XML 1.0") from None
        for path in schemas:
            schema = _xml_schema(path)
            if not schema.validate(doc):
                err = schema.error_log.last_error
                raise DocumentInvalid(story=story, format=fmt, line=err.line, message=err.message, schema=path.name)

    @staticmethod
    def _check_json(data: bytes, schemas: list[Path], fmt: str, story: str) -> None:
        try:
            doc = json.loads(data)
        except ValueError as exc:
            line = getattr(exc, "lineno", None)
            raise DocumentInvalid(story=story, format=fmt, line=line, message=f"not valid JSON: {exc}",
                                  schema="JSON") from None
        for path in schemas:
            fast, reference = _json_schema(path)
            if fast.is_valid(doc):
                continue
            error = best_match(reference.iter_errors(doc))
            if error is not None:   # the reference decides where the two differ
                where = "/".join(str(p) for p in error.absolute_path)
                raise DocumentInvalid(story=story, format=fmt, line=json_line(doc, list(error.absolute_path)),
                                      message=f"{where or '(top)'}: {error.message}", schema=path.name)


def json_line(doc: Any, path: list[Any]) -> int:
    """Line of `path` in `doc` as serialised by json.dumps(indent=2), which is how wirepub writes JSON."""
    line = 1
    node = doc
    for step in path:
        line += 1  # past the opening bracket
        keys = list(node) if isinstance(node, dict) else range(len(node))
        for key in keys:
            if key == step:
                break
            line += json.dumps(node[key], indent=2, ensure_ascii=False).count("\n") + 1
        node = node[step]
    return line
