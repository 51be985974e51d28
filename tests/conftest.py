from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from wirepub import app
from wirepub.clock import FixedClock
from wirepub.config import Config, build_config
from wirepub.reports import PushReport
from wirepub.store import Store

# Fixture modules: stores (SQLite and PostgreSQL) and the real servers the transports are tested against.
pytest_plugins = ["stores", "server_fixtures"]

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A file in ../shared (the corpus, the official schemas); skip the test where it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: this test needs the shared materials beside the repository")
    return path


@pytest.fixture
def official_newsml_xsd() -> Path:
    return shared_path("standards", "newsml-g2", "NewsML-G2_2.35-spec-All-Power.xsd")


@pytest.fixture
def official_jsonfeed_schema() -> Path:
    folder = shared_path("standards", "jsonfeed")
    found = sorted(folder.glob("*.json"))
    if not found:
        pytest.skip(f"no JSON Feed schema in {folder}")
    return found[0]


class Workspace:
    """A hot folder, a store and a destination folder in a temporary directory, with a clock we move."""

    def __init__(self, root: Path, raw_config: dict[str, Any] | None = None) -> None:
        self.root = root
        self.stories = root / "stories"
        self.stories.mkdir()
        self.public = root / "public"
        self.clock = FixedClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
        # Files here are dropped whole, so they are read at once (the settle time has tests of its own).
        self.raw_config = {**(raw_config or {})}
        self.raw_config["source"] = {"settle": 0, **self.raw_config.get("source", {})}
        self.config: Config = build_config(self.raw_config, base_dir=root, path=None)
        self.store = Store(self.config.store_url)

    def push(self) -> PushReport:
        """wirepub push, with this workspace's clock."""
        return app.push(self.config, clock=self.clock)

    def drop(self, name: str, content: str | bytes | dict[str, Any]) -> Path:
        path = self.stories / name
        if isinstance(content, dict):
            content = json.dumps(content, ensure_ascii=False)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
        return path

    def read(self, relative: str) -> bytes:
        return (self.public / relative).read_bytes()


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path)
    yield ws  # type: ignore[misc]
    ws.store.close()


@pytest.fixture
def story_doc() -> Callable[..., dict[str, Any]]:
    def make(**fields: Any) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": "test-story",
            "headline": "A headline",
            "body": "<p>First paragraph.</p><p>Second paragraph.</p>",
            "language": "en",
            "first_created": "2026-11-25T10:00:00Z",
            "version_created": "2026-11-25T10:00:00Z",
        }
        doc.update(fields)
        return {k: v for k, v in doc.items() if v is not None}

    return make
