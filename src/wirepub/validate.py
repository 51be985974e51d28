"""Every document is checked before it leaves: against wirepub's own profile of its format (schemas/),
and against the official schema where one is configured. Schemas are compiled once per process.

The kind of check follows the schema file: .xsd (lxml XMLSchema), .rng (lxml RelaxNG, e.g. RFC 4287's Atom
schema), .json (JSON Schema). JSON documents are checked by jsonschema-rs (about 100x the speed of the
jsonschema package on small documents, PERFORMANCE-NOTES); only when a document fails is jsonschema asked, to
word the error. A schema's "$ref" to another file is resolved offline, from the folder the schema is in.

A failure raises DocumentInvalid naming the story, the format, the line and the schema's message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import orjson
import referencing
import referencing.jsonschema
from jsonschema.exceptions import best_match
from lxml import etree

from wirepub.errors import ConfigError, DocumentInvalid
from wirepub.formats import Format
from wirepub.resources import schema_path

# No network, no entity expansion: documents are ours, but a template override is not.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@cache
def _xml_schema(path: Path) -> etree._Validator:
    try:
        tree = etree.parse(str(path), etree.XMLParser(no_network=True))
        checker: etree._Validator = etree.RelaxNG(tree) if path.suffix == ".rng" else etree.XMLSchema(tree)
        return checker
    except (OSError, etree.XMLSchemaParseError, etree.RelaxNGParseError, etree.XMLSyntaxError) as exc:
        raise ConfigError(f"XML schema {path} cannot be compiled: {exc}") from None


def _neighbours(path: Path) -> dict[str, Any]:
    """Every JSON schema in the folder of `path`, by its $id (with and without a trailing '#')."""
    out: dict[str, Any] = {}
    for other in sorted(path.parent.glob("*.json")):
        try:
            schema = json.loads(other.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        ident = schema.get("$id") if isinstance(schema, dict) else None
        if isinstance(ident, str):
            out[ident.rstrip("#")] = schema
            out[ident] = schema
    return out


@cache
def _json_schema(path: Path) -> tuple[Callable[[Any], bool], jsonschema.protocols.Validator]:
    """(a fast is_valid, the jsonschema validator that words errors) for one schema file."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        known = _neighbours(path)

        def retrieve(uri: str) -> Any:
            found = known.get(uri) or known.get(uri.rstrip("#"))
            if found is None:
                raise ValueError(f"{uri} is not among the schemas beside {path.name} (wirepub never fetches one)")
            return found

        registry: referencing.Registry[Any] = referencing.Registry().with_resources(
            (uri, referencing.Resource.from_contents(s, default_specification=referencing.jsonschema.DRAFT202012))
            for uri, s in known.items())
        fast = jsonschema_rs.validator_for(schema, retriever=retrieve)
    except (OSError, ValueError, jsonschema.SchemaError, jsonschema_rs.ValidationError) as exc:
        raise ConfigError(f"JSON schema {path} cannot be used: {exc}") from None
    return fast.is_valid, cls(schema, registry=registry)


class Validator:
    """Checks documents of each format against its profile and any official schema configured for it."""

    def __init__(self, official: dict[str, Path] | None = None) -> None:
        self.official = dict(official or {})
        self._schemas: dict[str, list[Path]] = {}
        self._folders: dict[str, bool] = {}

    def schemas_for(self, fmt: Format, doc: Any = None) -> list[Path]:
        """Our profile, then the official schema. An official schema given as a folder (ninjs: one file per
        version) is the file the format picks for this document. Looked up once per format."""
        found = self._schemas.get(fmt.name)
        if found is None:
            own = fmt.schema if isinstance(fmt.schema, Path) else schema_path(fmt.schema)
            extra = self.official.get(fmt.name)
            found = self._schemas[fmt.name] = [own, *([extra] if extra else [])]
            self._folders[fmt.name] = extra is not None and extra.is_dir()
        if not self._folders[fmt.name]:
            return found
        pick = getattr(fmt, "official_schema", None)
        return [found[0], *([pick(found[1], doc)] if pick is not None else [])]

    def check(self, data: bytes, fmt: Format, *, story: str, standard_only: bool = False) -> None:
        """Raises DocumentInvalid naming the story (or file), the format, the line and the schema's message.
        standard_only: check against the official schema alone (wirepub validate's second opinion)."""
        if data.lstrip()[:1] == b"<":
            doc: Any = self._parse_xml(data, fmt.name, story)
        else:
            doc = self._parse_json(data, fmt.name, story)
        schemas = self.schemas_for(fmt, doc)
        if standard_only:
            schemas = schemas[1:]
        for path in schemas:
            if path.suffix in (".xsd", ".rng"):
                self._check_xml(doc, path, fmt.name, story)
            else:
                self._check_json(doc, path, fmt.name, story)
        rule = getattr(fmt, "check_document", None)   # what the profile says that its schema language cannot
        if rule is not None and not standard_only:
            problem = rule(doc)
            if problem is not None:
                line, message = problem
                raise DocumentInvalid(story=story, format=fmt.name, line=line, message=message,
                                      schema=f"{fmt.schema} (profile rule)")

    def has_official(self, fmt: Format) -> bool:
        return fmt.name in self.official

    @staticmethod
    def _parse_xml(data: bytes, fmt: str, story: str) -> etree._Element:
        try:
            return etree.fromstring(data, PARSER)
        except etree.XMLSyntaxError as exc:
            raise DocumentInvalid(story=story, format=fmt, line=exc.lineno, message=f"not well-formed: {exc.msg}",
                                  schema="XML 1.0") from None

    @staticmethod
    def _parse_json(data: bytes, fmt: str, story: str) -> Any:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass   # worded by json, which says where
        try:
            return json.loads(data)
        except ValueError as exc:
            line = getattr(exc, "lineno", None)
            raise DocumentInvalid(story=story, format=fmt, line=line, message=f"not valid JSON: {exc}",
                                  schema="JSON") from None

    @staticmethod
    def _check_xml(doc: Any, path: Path, fmt: str, story: str) -> None:
        if not isinstance(doc, etree._Element):
            raise DocumentInvalid(story=story, format=fmt, line=1, message="not an XML document", schema=path.name)
        schema = _xml_schema(path)
        if not schema.validate(doc):
            err = schema.error_log.last_error
            raise DocumentInvalid(story=story, format=fmt, line=err.line, message=err.message, schema=path.name)

    @staticmethod
    def _check_json(doc: Any, path: Path, fmt: str, story: str) -> None:
        is_valid, wording = _json_schema(path)
        if is_valid(doc):
            return
        error = best_match(wording.iter_errors(doc))
        if error is None:   # the reference (jsonschema) decides where the two differ
            return
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
