"""Map the raw Wikinews records of ../shared/corpus to wirepub's story format (for tests and bench)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from wirepub.story import Story, story_from_document


def corpus_document(raw: dict[str, Any]) -> dict[str, Any]:
    date = raw.get("date") or _dateline_date(raw.get("dateline")) or "2013-01-01"
    when = f"{date[:10]}T12:00:00+00:00"
    doc: dict[str, Any] = {
        "id": re.sub(r"[^A-Za-z0-9._-]+", "-", raw["id"]).strip("-.")[:128],
        "headline": " ".join(raw["headline"].split()) or raw["id"],
        "body": raw["body"],
        "body_format": "text",
        "language": raw["lang"],
        "first_created": when,
        "version_created": when,
        "usage_terms": raw["license"][:2000],
        "url": raw["source_url"] if raw["source_url"].startswith("http") else None,
        "subjects": [c for c in raw.get("categories", []) if c.strip()][:100],
    }
    return {k: v for k, v in doc.items() if v not in (None, [])}


def _dateline_date(dateline: str | None) -> str | None:
    """The corpus's datelines are dates ("Friday, July 21, 2017"), not places."""
    if not dateline:
        return None
    try:
        return datetime.strptime(dateline.strip(), "%A, %B %d, %Y").date().isoformat()
    except ValueError:
        return None


def corpus_stories(path: Path) -> list[tuple[dict[str, Any], Story]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(raw, story_from_document(corpus_document(raw), origin=f"{path.name}:{raw['id']}")) for raw in rows]
