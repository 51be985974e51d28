"""Destination options: one JSON Schema per transport (schemas/transports/), one checker that words what it
refuses for people, and the schemas themselves kept to the rules every option follows."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from wirepub.errors import ConfigError
from wirepub.transports import TRANSPORTS, Destination, open_transport
from wirepub.transports.options import check_options, load_schema, must

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas" / "transports"
NAMES = sorted(p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json"))


def properties(node: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every property of a schema, nested ones as a.b."""
    found = []
    for name, child in node.get("properties", {}).items():
        key = f"{path}.{name}" if path else name
        found.append((key, child))
        found += properties(child, key)
    return found


def refusal(name: str, options: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        check_options("DEST", "sftp", options, name)
    return str(caught.value)


# ---- the schemas ----------------------------------------------------------------------------------------------

def test_there_is_a_schema_for_every_builtin_transport():
    modules = {target.split(":")[0].rsplit(".", 1)[1] for target in TRANSPORTS.values()}
    assert set(NAMES) == modules == {"file", "ftp", "http", "s3", "sftp"}


@pytest.mark.parametrize("name", NAMES)
def test_each_schema_is_valid_closed_and_describes_every_option(name):
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    for key, node in properties(schema):
        assert node.get("description"), f"{name}: option {key} has no description"
        if node.get("type") == "object" and "properties" in node:
            assert node.get("additionalProperties") is False, f"{name}: {key} takes keys it does not know"
        if node.get("type") in ("number", "integer"):
            assert "maximum" in node or "exclusiveMaximum" in node, f"{name}: {key} has no upper bound"
        if "default" in node:
            Draft202012Validator({k: v for k, v in node.items() if k != "default"}).validate(node["default"])


@pytest.mark.parametrize("name", ["ftp", "sftp", "http", "s3"])
@pytest.mark.parametrize("value", [1e300, math.inf, 3601, 0, -1, "10", True])
def test_no_timeout_is_unbounded(name, value):
    timeouts = [key for key, node in properties(load_schema(name)) if node.get("x-unit") == "seconds"]
    assert timeouts
    for key in timeouts:
        assert f"option {key} must be a number of seconds above 0 and at most 3600" in refusal(name, {key: value})


# ---- the checker ----------------------------------------------------------------------------------------------

def test_defaults_come_from_the_schema_and_given_values_stay():
    assert check_options("DEST", "ftp", {}, "ftp") == {
        "connect_timeout": 10, "io_timeout": 60, "passive": True, "temp_prefix": ".wirepub-tmp-"}
    assert check_options("DEST", "ftp", {"passive": False, "io_timeout": 2.5}, "ftp")["io_timeout"] == 2.5
    # A table's own defaults fill what it leaves out.
    assert check_options("DEST", "s3", {"cache_control": {"feed": ""}}, "s3")["cache_control"] == {
        "item": "public, max-age=3600", "feed": ""}


def test_unknown_options_come_first_and_the_known_ones_are_listed():
    said = refusal("sftp", {"connect_timeout": -1, "pasword_env": "X", "kye_file": "k"})
    assert said == ("DEST: unknown option(s) kye_file, pasword_env for an sftp:// destination (known: "
                    "connect_timeout, host_key_policy, io_timeout, key_file, key_passphrase_env, known_hosts, "
                    "password_env, temp_prefix)")


@pytest.mark.parametrize(("name", "options", "said"), [
    ("sftp", {"host_key_policy": "accept-all"},
     "DEST: option host_key_policy must be one of 'reject', 'accept-new', not 'accept-all'"),
    ("ftp", {"passive": "yes"}, "DEST: option passive must be true or false"),
    ("s3", {"max_pool_connections": 0}, "DEST: option max_pool_connections must be a whole number of at least 1 "
                                        "and at most 1000"),
    ("s3", {"region": " "}, "DEST: option region must be a non-empty string"),
    ("s3", {"cache_control": {"item": "no-cache\r\nX-Evil: 1"}},
     "DEST: option cache_control.item must be a one-line ASCII string"),
    ("sftp", {"temp_prefix": "tmp/"}, "DEST: option temp_prefix must be a plain name prefix (no '/')"),
])
def test_what_an_option_must_be_is_said_in_words(name, options, said):
    assert refusal(name, options) == said


def test_the_options_are_checked_in_the_schemas_order():
    said = refusal("ftp", {"temp_prefix": "a/b", "connect_timeout": "soon"})
    assert "option connect_timeout" in said and "temp_prefix" not in said


@pytest.mark.parametrize("value", ["hunter2 secret!", "AKIAIOSFODNN7EXAMPLE", "NAME\n", "x" * 201])
def test_a_value_where_a_name_belongs_is_never_repeated(value):
    said = refusal("s3", {"access_key_id_env": value, "secret_access_key_env": "B"})
    assert said == ("DEST: option access_key_id_env must be the NAME of an environment variable (letters, digits, "
                    "underscores) that holds the value, not the value itself")


def test_an_anchored_pattern_does_not_let_a_final_line_break_through():
    # Python's $ matches before a final "\n"; JSON Schema's (ECMA 262) does not, and neither does the checker.
    assert "temp_prefix" in refusal("ftp", {"temp_prefix": "tmp-\n"})
    assert check_options("DEST", "ftp", {"password_env": "FTP_PASSWORD"}, "ftp")["password_env"] == "FTP_PASSWORD"


def test_a_schema_may_be_given_as_a_table():
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"depth": {"type": "integer", "minimum": 1, "maximum": 9, "default": 3}}}
    assert check_options("memo://x", "memo", {}, schema) == {"depth": 3}
    with pytest.raises(ConfigError) as caught:
        check_options("memo://x", "memo", {"depth": 10}, schema)
    assert str(caught.value) == "memo://x: option depth must be a whole number of at least 1 and at most 9"
    with pytest.raises(ConfigError, match=r"unknown option\(s\) width for a memo:// destination \(known: depth\)"):
        check_options("memo://x", "memo", {"width": 1}, schema)


def test_must_words_numbers_from_their_bounds():
    assert must({"type": "number", "exclusiveMinimum": 0, "maximum": 3600, "x-unit": "seconds"}) == \
        "a number of seconds above 0 and at most 3600"
    assert must({"type": "integer", "minimum": 1}) == "a whole number of at least 1"
    assert must({"type": "number"}) == "a number"


@pytest.mark.parametrize(("url", "options"), [
    ("out", {"mode": "0644"}),
    ("s3://b", {"endpoint": "http://x"}),
    ("https://wire.example.net/in", {"secret": "x"}),
    ("sftp://acme@files.example.net/x", {"pasword_env": "X"}),
    ("ftps://acme@files.example.net/x", {"pasword_env": "X"}),
])
def test_every_transport_refuses_unknown_options_when_opened(tmp_path, url, options):
    with pytest.raises(ConfigError, match="unknown option"):
        open_transport(Destination(url, options), base_dir=tmp_path)
