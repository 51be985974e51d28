"""docs/destinations.md's option tables are the ones scripts/gen_destination_docs.py generates from
schemas/transports/*.schema.json: an option is described once, in its schema."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "destinations.md"
SCHEMAS = ROOT / "schemas" / "transports"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_destination_docs", ROOT / "scripts" / "gen_destination_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_option_tables_are_up_to_date() -> None:
    gen = generator()
    current = DOC.read_text(encoding="utf-8")
    assert gen.render(current) == current, f"docs/destinations.md is out of date: run `{gen.COMMAND}` and commit it"
    assert gen.main(["--check"]) == 0


def test_every_transport_has_its_table_and_every_option_is_in_it() -> None:
    gen = generator()
    current = DOC.read_text(encoding="utf-8")
    names = sorted(p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json"))
    assert sorted(gen.blocks(current)) == names
    for name in names:
        schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
        table = gen.table(schema)
        assert table in current
        for option in schema["properties"]:
            assert f"| `{option}` |" in table


def test_a_changed_schema_makes_the_doc_out_of_date(tmp_path: Path) -> None:
    gen = generator()
    schemas = tmp_path / "transports"
    shutil.copytree(SCHEMAS, schemas)
    changed = json.loads((schemas / "sftp.schema.json").read_text(encoding="utf-8"))
    changed["properties"]["io_timeout"]["maximum"] = 600
    changed["properties"]["io_timeout"]["description"] = "Seconds, and now at most ten minutes."
    (schemas / "sftp.schema.json").write_text(json.dumps(changed), encoding="utf-8")
    current = DOC.read_text(encoding="utf-8")
    drifted = gen.render(current, schemas)
    assert drifted != current
    assert "| `io_timeout` | number | `60` | a number of seconds above 0 and at most 600 | Seconds, and now at most " \
           "ten minutes. |" in drifted
    assert gen.render(drifted, schemas) == drifted  # and rendering again changes nothing


def test_a_hand_edit_inside_a_table_is_undone() -> None:
    gen = generator()
    current = DOC.read_text(encoding="utf-8")
    edited = current.replace("| `passive` | boolean | `true` |", "| `passive` | boolean | `false` |")
    assert edited != current
    assert gen.render(edited) == current
