"""One registry per axis: formats are registered in one place (and by plugins, through entry points), and
every list of format names derives from it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REPO, Workspace
from wirepub.cli import main
from wirepub.config import build_config
from wirepub.formats import BUILT_IN, DEFAULT_FORMATS, registry
from wirepub.starter import starter_config

PLUGIN = Path(__file__).resolve().parent / "plugin"


@pytest.fixture
def plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The in-tree plugin package, found through its dist-info as an installed one would be."""
    monkeypatch.syspath_prepend(str(PLUGIN))
    registry.reload()
    yield
    monkeypatch.undo()
    registry.reload()


def test_the_config_schema_lists_the_built_in_formats_of_the_registry():
    schema = json.loads((REPO / "schemas" / "config.schema.json").read_text())
    partner = schema["properties"]["partners"]["items"]["properties"]
    assert partner["formats"]["items"]["enum"] == list(BUILT_IN) == list(registry.names())
    assert partner["formats"]["default"] == list(DEFAULT_FORMATS)   # what wirepub always sent
    templated = partner["templates"]["propertyNames"]["enum"]
    assert templated == [*registry.templated(), "kill-notice", "correction"] == [
        "newsml-g2", "rss", "atom", "news-sitemap", "kill-notice", "correction"]


def test_the_starter_config_and_the_cli_offer_every_registered_format():
    assert all(f'"{name}"' in starter_config() for name in registry.names())
    result = CliRunner().invoke(main, ["render", "--help"])
    assert all(name in result.output for name in registry.names())


def test_an_unknown_format_in_the_config_names_the_ones_there_are(tmp_path):
    from wirepub.errors import ConfigError

    with pytest.raises(ConfigError, match="partners.0.formats.0"):
        build_config({"partners": [{"name": "p", "destinations": ["x"], "formats": ["wire-brief"]}]},
                     base_dir=tmp_path, path=None)


def test_a_plugin_format_is_one_module_its_template_and_its_schema_and_travels_end_to_end(tmp_path, plugin):
    """The plugin adds `wire-brief` with nothing but its own package (module, template, schema) and an entry
    point: the config takes it, push renders, validates and delivers it, `wirepub validate` recognises it."""
    assert "wire-brief" in registry.names()
    ws = Workspace(tmp_path, {"partners": [{"name": "p", "destinations": ["public"],
                                             "formats": ["newsml-g2", "wire-brief"]}]})
    ws.drop("s.json", {"id": "s", "headline": "Harbour fire <out>", "body": "<p>All safe.</p>",
                       "version_created": "2026-11-25T10:00:00Z"})
    report = ws.push()
    assert report.ok and report.written == 2, report
    brief = ws.public / "items/s/v1.brief.xml"
    assert b"<headline>Harbour fire &lt;out&gt;</headline>" in brief.read_bytes()
    result = CliRunner().invoke(main, ["validate", "--json", str(brief)])
    assert json.loads(result.output)[0] | {"error": None} == {"file": str(brief), "format": "wire-brief",
                                                               "valid": True, "error": None, "standard": None,
                                                               "note": None}
    ws.store.close()


def test_a_plugin_document_that_breaks_its_own_schema_is_not_delivered(tmp_path, plugin):
    bad = tmp_path / "brief.xml.j2"
    bad.write_text('<?xml version="1.0"?>\n<brief xmlns="urn:example:wire-brief"><teaser/></brief>\n')
    ws = Workspace(tmp_path, {"partners": [{"name": "p", "destinations": ["public"], "formats": ["wire-brief"],
                                             "templates": {"wire-brief": str(bad)}}]})
    ws.drop("s.json", {"id": "s", "headline": "H", "body": "B", "version_created": "2026-11-25T10:00:00Z"})
    report = ws.push()
    assert not report.ok and "format wire-brief, line 2" in report.failures[0] and "brief.xsd" in report.failures[0]
    assert not (ws.public / "items").exists()
    ws.store.close()


def test_formats_import_neither_configuration_nor_transports():
    """Data flows one way: a renderer knows stories and its context, never partners, config or destinations."""
    code = ("import sys, wirepub.formats.newsmlg2, wirepub.formats.rss, wirepub.formats.jsonfeed, "
            "wirepub.formats.ninjs, wirepub.formats.atom, wirepub.formats.newssitemap, wirepub.formats.profiles; "
            "print(sorted(m for m in sys.modules if m.startswith('wirepub.')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for forbidden in ("wirepub.config", "wirepub.partners", "wirepub.transports", "wirepub.store"):
        assert f"'{forbidden}'" not in loaded and f"'{forbidden}." not in loaded, loaded
