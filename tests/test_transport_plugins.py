"""Transports from other packages, by entry point (group wirepub.transports): the example package in
tests/plugin/ (a package and its .dist-info, as pip would install them) is put on sys.path, and a
`wirepub push` delivers to its memo:// scheme like to any other destination."""

from __future__ import annotations

import importlib
import json
import logging
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

import wirepub.transports as transports
from conftest import Workspace
from wirepub.cli import main
from wirepub.errors import ConfigError
from wirepub.transports import Destination, Put, open_transport
from wirepub.transports.file import FileTransport

PLUGIN_PATH = Path(__file__).resolve().parent / "plugin"
STORY = {"id": "memo-1", "headline": "Harbour reopens", "body": "<p>The harbour reopened on Tuesday.</p>",
         "version_created": "2026-11-25T10:00:00Z"}


def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """wirepub's own transports only, entry points not read yet (as in a process that just started)."""
    monkeypatch.setattr(transports, "TRANSPORTS", dict(transports.TRANSPORTS))
    monkeypatch.setattr(transports, "_plugins_loaded", False)


def installed(root: Path, name: str, entry_points: str) -> Path:
    """A distribution as pip leaves it in site-packages: only its .dist-info (its modules may be elsewhere)."""
    info = root / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)
    return root


@pytest.fixture
def plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The example plugin installed (on sys.path), a registry that has not looked for plugins yet."""
    fresh_registry(monkeypatch)
    monkeypatch.syspath_prepend(str(PLUGIN_PATH))
    module = importlib.import_module("wirepub_plugin_example")
    module.MEMOS.clear()
    yield module
    module.MEMOS.clear()
    sys.modules.pop("wirepub_plugin_example", None)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """`wirepub` sets up the root logger for its run; give the next tests theirs back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


CONFIG = """\
[[partners]]
name = "desk"
destinations = ["memo://desk"]
formats = ["newsml-g2", "rss"]
"""


def test_a_push_delivers_through_a_plugin_transport(tmp_path: Path, plugin: ModuleType,
                                                    restored_logging: None) -> None:
    (tmp_path / "wirepub.toml").write_text(CONFIG)
    ws = Workspace(tmp_path, tomllib.loads(CONFIG))
    try:
        ws.drop("memo-1.json", STORY)
        result = CliRunner().invoke(main, ["--config", str(tmp_path / "wirepub.toml"), "push", "--json"])
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert summary["destinations"] == ["memo://desk (in memory)"] and summary["ok"]
        memo = plugin.MEMOS["desk"]
        assert sorted(memo) == ["feeds/rss.xml", "items/memo-1/v1.xml"]
        assert b"Harbour reopens" in memo["items/memo-1/v1.xml"] and b"Harbour reopens" in memo["feeds/rss.xml"]
        [row] = ws.store.reads.status(ws.clock.now())
        assert (row["partner"], row["delivered"], row["failed"], row["dead"]) == ("desk", 2, 0, 0)
    finally:
        ws.store.close()


def test_plugins_are_looked_for_only_when_a_scheme_is_not_wirepubs_own(tmp_path: Path, plugin: ModuleType) -> None:
    open_transport(Destination("out"), base_dir=tmp_path).close()
    assert "memo" not in transports.TRANSPORTS and not transports._plugins_loaded
    t = open_transport(Destination("memo://wire", {"max_bytes": 10}), base_dir=tmp_path)
    assert type(t).__name__ == "MemoTransport" and t.location == "memo://wire (in memory)"
    t.put(Put("a.txt", b"0123456789", "text/plain"))
    assert plugin.MEMOS["wire"] == {"a.txt": b"0123456789"}
    assert transports.TRANSPORTS["memo"] == "wirepub_plugin_example.memo:MemoTransport"
    # A plugin's options are checked by its own schema, in wirepub's words.
    with pytest.raises(ConfigError, match=r"^memo://wire: option max_bytes must be a whole number of at least 1"):
        open_transport(Destination("memo://wire", {"max_bytes": 0}), base_dir=tmp_path)


def test_entry_points_are_read_once(tmp_path: Path, plugin: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    open_transport("memo://first", base_dir=tmp_path).close()
    # Installed after the first look: this process does not see it (as with any entry point, restart to).
    monkeypatch.syspath_prepend(str(installed(tmp_path / "site", "late-plugin",
                                              "[wirepub.transports]\nlate = wirepub_plugin_example:MemoTransport\n")))
    with pytest.raises(ConfigError, match=r"no transport for scheme 'late' \(wirepub has: file, ftp, ftps, http, "
                                          r"https, memo, s3, sftp\)"):
        open_transport("late://x", base_dir=tmp_path)


def test_wirepubs_own_transports_come_first(tmp_path: Path, plugin: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.syspath_prepend(str(installed(tmp_path / "site", "greedy-plugin",
                                              "[wirepub.transports]\nfile = wirepub_plugin_example:MemoTransport\n"
                                              "memo2 = wirepub_plugin_example:MemoTransport\n")))
    with caplog.at_level(logging.WARNING, logger="wirepub.transports"):
        open_transport("memo2://x", base_dir=tmp_path).close()
    assert transports.TRANSPORTS["file"] == "wirepub.transports.file:FileTransport"
    assert isinstance(open_transport("file:out", base_dir=tmp_path), FileTransport)
    assert "transport plugin left out: scheme file is taken" in caplog.text


def test_a_plugin_that_cannot_be_imported_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh_registry(monkeypatch)
    monkeypatch.syspath_prepend(str(installed(tmp_path / "site", "broken-plugin",
                                              "[wirepub.transports]\nbroken = no_such_module_here:Transport\n")))
    with pytest.raises(ConfigError, match=r"the broken transport is not available \(No module named"):
        open_transport("broken://x", base_dir=tmp_path)
