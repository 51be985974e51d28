"""The ingest API's use cases: take one story from a CMS (the web layer hands over the body as it came), and say
where a story went (its versions, and each partner's delivery state: the CMS's "where did it go")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wirepub.sources.api import IngestSource, Submitted
from wirepub.store import Store
from wirepub.urls import shown


def submit(source: IngestSource, body: bytes, *, story_id: str | None = None,
           version: int | None = None) -> Submitted:
    """Check, number and record one story in the store (the inbox) before anything is answered."""
    return source.submit(body, story_id=story_id, version=version)


@dataclass(frozen=True, slots=True)
class StoryState:
    story_id: str
    versions: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.versions)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.story_id, "versions": self.versions, "deliveries": self.deliveries}


def story_state(store: Store, story_id: str) -> StoryState:
    """Every version of a story (queued in the inbox, rejected there, or recorded: then held, released, failed or
    dropped) and, per partner, destination and format, what became of each version's documents."""
    versions: dict[int, dict[str, Any]] = {}
    for entry in store.inbox.of_story(story_id):
        versions[entry.version] = {"version": entry.version, "state": str(entry.state), "source": entry.source,
                                   "received_at": _iso(entry.received_at),
                                   **({"error": entry.error} if entry.error else {})}
    for v in store.reads.versions_of(story_id):
        known = versions.setdefault(v["version"], {"version": v["version"]})
        known.update(status=v["status"], headline=v["headline"], state=_version_state(v),
                     recorded_at=_iso(v["seen_at"]), released_at=_iso(v["released_at"]),
                     embargo=_iso(v["embargo"]))
    deliveries = [{"version": d["version"], "partner": d["partner"], "destination": shown(d["destination"]),
                   "path": d["path"], "format": d["format"], "kind": d["kind"], "state": d["state"],
                   "attempts": d["attempts"], "queued_at": _iso(d["created_at"]),
                   "delivered_at": _iso(d["delivered_at"]), "next_attempt_at": _iso(d["next_attempt_at"]),
                   "last_error": d["last_error"]}
                  for d in store.reads.story_history(story_id)]
    return StoryState(story_id, [versions[k] for k in sorted(versions)], deliveries)


def _version_state(v: dict[str, Any]) -> str:
    if v["dropped_at"] is not None:
        return "dropped"
    if v["failed_at"] is not None and v["released_at"] is None:
        return "failed"
    if v["released_at"] is not None:
        return "released"
    if v["embargo"] is not None:
        return "held"
    return "recorded"


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None
