"""The docs stay true: every TOML example is a valid wirepub.toml, and the configuration reference is the one
scripts/gen_config_docs.py generates from schemas/config.schema.json."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from wirepub.config import build_config
from wirepub.transports import open_transport

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TOML_BLOCK = re.compile(r"^```toml\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _examples() -> list[tuple[str, str]]:
    found = []
    for doc in sorted(DOCS.glob("*.md")):
        for i, block in enumerate(TOML_BLOCK.findall(doc.read_text(encoding="utf-8"))):
            found.append((f"{doc.name}#{i + 1}", block))
    return found


def test_the_destinations_doc_has_examples() -> None:
    assert any(name.startswith("destinations.md") for name, _ in _examples())


@pytest.mark.parametrize(("name", "block"), _examples(), ids=[name for name, _ in _examples()])
def test_every_toml_example_is_a_valid_configuration(name: str, block: str, tmp_path: Path) -> None:
    raw = tomllib.loads(block)
    config = build_config(raw, base_dir=tmp_path, path=tmp_path / "wirepub.toml")
    # The transport accepts the destination's options too (opening connects to nothing yet).
    with pytest.MonkeyPatch.context() as mp:
        for partner in config.partners:
            for dest in partner.destinations:
                for key, value in dest.options.items():
                    if key.endswith("_env"):
                        mp.setenv(value, "example-value")
                open_transport(dest, base_dir=tmp_path).close()


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config_docs", ROOT / "scripts" / "gen_config_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configuration_reference_is_up_to_date() -> None:
    gen = _generator()
    expected = gen.generate()
    current = (DOCS / "configuration.md").read_text(encoding="utf-8") if (DOCS / "configuration.md").exists() else ""
    assert current == expected, f"docs/configuration.md is out of date: run `{gen.COMMAND}` and commit the result"


def test_configuration_reference_is_deterministic_and_names_every_key() -> None:
    gen = _generator()
    assert gen.generate() == gen.generate()
    text = gen.generate()
    for key in ("`partners[].delivery.max_attempts`", "`partners[].paths.item`", "`daemon.lease`", "`store.url`"):
        assert key in text
