"""What the format tests share: stories from documents, rendering through a partner as the flow does, and
the W3C feed checker."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conftest import SHARED, shared_path
from wirepub.config import build_config
from wirepub.formats import get_format
from wirepub.partners import Partner
from wirepub.rendering import FeedResult, Renderer
from wirepub.story import Story, story_from_document
from wirepub.validate import Validator

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def story(**fields: Any) -> Story:
    doc: dict[str, Any] = {"id": "harbour-fire", "headline": "Fire in the harbour of Piraeus is out",
                           "body": "<p>One &amp; two.</p><p>\"Three\".</p>", "language": "en",
                           "first_created": "2026-11-25T10:00:00Z", "version_created": "2026-11-25T10:00:00Z",
                           "url": "https://news.example/harbour-fire"}
    doc.update(fields)
    return story_from_document({k: v for k, v in doc.items() if v is not None}, origin="test")


def official() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for name, parts in (("ninjs", ("standards", "ninjs", "schemas")),
                        ("atom", ("standards", "atom", "atom-rfc4287.rng")),
                        ("newsml-g2", ("standards", "newsml-g2", "NewsML-G2_2.35-spec-All-Power.xsd"))):
        path = SHARED.joinpath(*parts)
        if path.exists():
            found[name] = path
    return found


def renderer(raw: dict[str, Any] | None = None, tmp: Path | None = None) -> tuple[Renderer, list[Partner]]:
    config = build_config(raw or {}, base_dir=tmp or Path("."), path=None)
    return Renderer(config.provider, config.channel, Validator(official())), list(config.partners)


def feed(fmt: str, stories: list[Story], raw: dict[str, Any] | None = None, now: datetime = NOW) -> FeedResult:
    r, partners = renderer(raw)
    return r.feed(partners[0], get_format(fmt), stories, now)  # type: ignore[arg-type]


def item(fmt: str, s: Story, raw: dict[str, Any] | None = None) -> bytes:
    r, partners = renderer(raw)
    return r.item(partners[0], get_format(fmt), s, NOW).data  # type: ignore[arg-type]


def feedcheck(tmp: Path, name: str, data: bytes, url: str | None = None) -> str:
    """The W3C Feed Validator's verdict on a feed (skips where ../shared is absent). Returns its output."""
    tool = shared_path("tools", "feedcheck")
    path = tmp / name
    path.write_bytes(data)
    args = [sys.executable, str(tool), *(["--url", url] if url else []), str(path)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout
