"""The ingest API as a source (kind api): what a CMS POSTs (or PUTs) is checked, numbered and recorded in the
store's inbox before the answer (201) goes out; the collect takes it from there like any source's story. So a
crash after a 201 loses nothing, and any node's collect takes up what any node accepted.

A story comes as the story contract's JSON or as ninjs (1.x-3.x, told apart by content: sources/ninjs.py). The
answers (vocabulary.Submission): created (201), repeated (200: the same id, version and content again: a retry),
conflict (409: the same id and version, other content), invalid (422, with every contract error), forbidden (403:
the story was recorded from another source), full (429: more than queue_limit stories wait for the collect).
A story that names no version gets the next one, unless its content is the latest version's (then: repeated).

Bearer tokens by reference: environment variables (tokens_env) and files of one token per line (tokens_file,
re-read when they change, so a token is rotated without a restart). Compared in constant time, never logged.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import os
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from wirepub.clock import Clock
from wirepub.config import SourceSettings
from wirepub.errors import SourceError, StoryError
from wirepub.progress import Progress
from wirepub.sources import Collected, Rejection
from wirepub.sources.ninjs import is_ninjs, story_document
from wirepub.store import InboxEntry, Known, Store
from wirepub.story import Story, StoryDefaults, content_hash, contract_errors, story_from_document
from wirepub.vocabulary import InboxState, Submission

DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_QUEUE_LIMIT = 10_000
COLLECT_BATCH = 1000       # inbox rows taken up per collect
RETRY_AFTER = 2            # seconds a 429 asks the client to wait


@dataclass(frozen=True, slots=True)
class Submitted:
    outcome: Submission
    story_id: str | None = None
    version: int | None = None
    errors: list[dict[str, str]] = field(default_factory=list)   # field and reason, for a 422
    message: str = ""


class IngestSource(Protocol):
    """What the web layer asks of a source that is pushed to (api, superdesk)."""

    name: str
    kind: str
    max_bytes: int

    def accepts(self, token: str) -> bool: ...

    def submit(self, body: bytes, *, story_id: str | None = None, version: int | None = None) -> Submitted: ...


class Secrets:
    """Secrets named by reference: environment variables, read at each use, and files, re-read when they change.
    One secret per non-empty line of a file; lines starting with # are comments."""

    def __init__(self, envs: Collection[str] = (), files: Collection[Path] = ()) -> None:
        self.envs = tuple(envs)
        self.files = tuple(files)
        self._cache: dict[Path, tuple[tuple[int, int], tuple[str, ...]]] = {}

    def values(self) -> list[str]:
        out = [v.strip() for v in (os.environ.get(name, "") for name in self.envs) if v.strip()]
        for path in self.files:
            out += self._file(path)
        return out

    def _file(self, path: Path) -> tuple[str, ...]:
        try:
            st = path.stat()
        except OSError:
            return ()
        stamp = (st.st_mtime_ns, st.st_size)
        cached = self._cache.get(path)
        if cached is None or cached[0] != stamp:
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                return ()
            cached = (stamp, tuple(line.strip() for line in lines if line.strip() and not line.startswith("#")))
            self._cache[path] = cached
        return cached[1]

    def matches(self, presented: str) -> bool:
        given = presented.encode("utf-8")
        found = False
        for value in self.values():   # every one compared: the time taken does not tell which matched
            found |= hmac.compare_digest(given, value.encode("utf-8"))
        return found

    def missing(self) -> list[str]:
        """The references that give nothing: unset variables, unreadable or empty files."""
        gone = [f"environment variable {n}" for n in self.envs if not os.environ.get(n, "").strip()]
        return gone + [f"file {p}" for p in self.files if not self._file(p)]


class ApiSource:
    """A Source (wirepub.sources) fed by the ingest API; refs (and origins) are 'source:story-id/vN'."""

    kind = "api"
    interval: float | None = None

    def __init__(self, settings: SourceSettings, store: Store, clock: Clock, *,
                 defaults: StoryDefaults | None = None) -> None:
        self.name = settings.name
        self.store = store
        self.clock = clock
        self.max_bytes = int(settings.option("max_bytes", DEFAULT_MAX_BYTES))
        self.queue_limit = int(settings.option("queue_limit", DEFAULT_QUEUE_LIMIT))
        self.tokens = Secrets(settings.option("tokens_env", ()), [Path(p) for p in settings.option("tokens_file", ())])
        self.defaults = defaults or StoryDefaults(language=settings.language)
        self._taken: dict[str, int] = {}   # ref -> inbox row, for done and reject

    # --- the API's side -------------------------------------------------------------------------------------

    def accepts(self, token: str) -> bool:
        return self.tokens.matches(token)

    def document(self, raw: dict[str, Any], origin: str) -> dict[str, Any]:
        """The story-contract document a request carries (ninjs is mapped). Raises StoryError."""
        return story_document(raw, origin=origin) if is_ninjs(raw) else dict(raw)

    def submit(self, body: bytes, *, story_id: str | None = None, version: int | None = None) -> Submitted:
        """Check a request's body, give it its version, record it in the inbox (before anything is answered)."""
        if self.store.inbox.queued(self.name) >= self.queue_limit:
            return Submitted(Submission.FULL, message=f"the intake queue of source {self.name} is full "
                             f"({self.queue_limit} stories wait for the collect); try again in {RETRY_AFTER} s")
        origin = f"{self.name}:{story_id or 'request'}"
        try:
            raw = json.loads(body.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            return _invalid("document", f"not JSON: {exc}")
        if not isinstance(raw, dict):
            return _invalid("document", "a story is one JSON object")
        try:
            doc = self.document(raw, origin)
        except StoryError as exc:
            return _invalid(exc.field or "document", exc.reason)
        for name, wanted in (("id", story_id), ("version", version)):
            if wanted is not None:
                if name in doc and doc[name] != wanted:
                    return _invalid(name, f"{doc[name]!r} in the body, {wanted!r} in the address; they must agree")
                doc[name] = wanted
        doc.setdefault("version_created", self.clock.now().isoformat())
        errors = contract_errors({**doc, "version": doc.get("version", 1)}, origin)
        if errors:
            return Submitted(Submission.INVALID, doc.get("id") if isinstance(doc.get("id"), str) else None,
                             errors=[{"field": e.field or "document", "reason": e.reason} for e in errors],
                             message=f"{len(errors)} error(s) in the story")
        return self._record(doc)

    def _record(self, doc: dict[str, Any]) -> Submitted:
        story_id: str = doc["id"]
        digest = content_hash(doc)
        for _ in range(5):   # another node may take the next number first: then the one after
            queued = {e.version: e for e in self.store.inbox.of_story(story_id)}   # what the store holds of it,
            recorded = self.store.versions.known([story_id])                       # in three queries
            owner = self._other_owner(story_id, queued.values(), recorded.origins(story_id))
            if owner is not None:
                return Submitted(Submission.FORBIDDEN, story_id, message=f"story {story_id} comes from {owner}, "
                                 f"not from source {self.name}; give it another id")

            def hash_of(number: int, queued: dict[int, InboxEntry] = queued, recorded: Known = recorded) -> str | None:
                return queued[number].content_hash if number in queued else recorded.content_of(story_id, number)

            version = doc.get("version")
            if version is None:
                latest_recorded = recorded.latest(story_id)
                latest = max([*queued, latest_recorded.version if latest_recorded else 0])
                if latest and hash_of(latest) == digest:
                    return Submitted(Submission.REPEATED, story_id, latest, message="the latest version has "
                                     "this content already")
                number = latest + 1
            else:
                number = int(version)
                known = hash_of(number)
                if known is not None:
                    return _same_or_conflict(story_id, number, known == digest)
            if self.store.inbox.offer(self.name, story_id, number, digest, {**doc, "version": number},
                                      self.clock.now()):
                return Submitted(Submission.CREATED, story_id, number)
        return Submitted(Submission.CONFLICT, story_id, message="other versions of this story keep arriving at the "
                         "same time; send it again with a version number")

    def _other_owner(self, story_id: str, queued: Iterable[InboxEntry], origins: set[str]) -> str | None:
        for entry in queued:
            if entry.source != self.name:
                return f"source {entry.source}"
        for origin in sorted(origins):
            if not origin.startswith(f"{self.name}:"):
                head, sep, _ = origin.partition(":")
                return f"source {head}" if sep and "/" not in head else origin
        return None

    # --- the Source protocol -------------------------------------------------------------------------------

    def collect(self, *, settle: float = 0.0, settled: Collection[str] = (),
                only: Collection[str] | None = None, progress: Progress | None = None) -> Collected:
        out = Collected()
        for entry in self.store.inbox.waiting(self.name, COLLECT_BATCH):
            ref = f"{self.name}:{entry.story_id}/v{entry.version}"   # also the story's origin: intake's done(ref)
            self._taken[ref] = entry.id
            try:
                out.stories.append(self._story(entry.document, ref, entry.received_at))
            except StoryError as exc:
                out.rejected.append(Rejection(ref, exc))
        return out

    def _story(self, document: dict[str, Any], ref: str, received: datetime) -> Story:
        defaults = dataclasses.replace(self.defaults, version_created=received)
        return story_from_document(document, origin=ref, defaults=defaults)

    def read(self, ref: str) -> Story:
        story_id, _, version = ref.removeprefix(f"{self.name}:").rpartition("/v")
        entry = self.store.inbox.entry(story_id, int(version)) if version.isdigit() else None
        if entry is None:
            raise StoryError("no such story in the ingest API's inbox", file=f"{self.name}:{ref}")
        return self._story(entry.document, ref, entry.received_at)

    def done(self, refs: Sequence[str]) -> None:
        ids = [i for i in (self._taken.pop(ref, None) for ref in refs) if i is not None]
        if ids:
            self.store.inbox.settle_many(ids, InboxState.RECORDED, self.clock.now())

    def reject(self, rejection: Rejection) -> None:
        entry_id = self._taken.pop(rejection.ref, None)
        if entry_id is not None:
            self.store.inbox.settle(entry_id, InboxState.REJECTED, self.clock.now(), str(rejection.error))

    def check(self) -> str:
        missing = self.tokens.missing()
        if missing and len(missing) == len(self.tokens.envs) + len(self.tokens.files):
            raise SourceError(f"source {self.name}: no token to accept: {', '.join(missing)} give none; set one")
        queued = self.store.inbox.queued(self.name)
        note = f" ({', '.join(missing)} unset)" if missing else ""
        return f"{len(self.tokens.values())} token(s){note}; {queued} stories queued for the collect"


def _invalid(name: str, reason: str) -> Submitted:
    return Submitted(Submission.INVALID, errors=[{"field": name, "reason": reason}], message=reason)


def _same_or_conflict(story_id: str, version: int, same: bool) -> Submitted:
    if same:
        return Submitted(Submission.REPEATED, story_id, version, message="accepted before with this content")
    return Submitted(Submission.CONFLICT, story_id, version, message=f"version {version} of story {story_id} was "
                     "accepted before with other content; a version never changes: send the next version number")
