"""Sources: where approved stories come from (DESIGN.md). One module per kind; the flow knows only the
Source protocol below, never a kind.

A source is asked to collect what it has that is new; the flow records each story and tells the source
`done` (recorded: do not offer it again unless it changes) or `reject` (it cannot be published: set it
aside with the reason, where the newsroom will see it). `read` reads one story by its reference (a path
for the hot folder), for `wirepub render` and `wirepub validate`. `check` is `wirepub sources check`: connect,
authenticate, read one, and say what was found.

A source has a `kind` (vocabulary.SourceKind) and an `interval`: None for those looked at on every collect
(the hot folder, the ingest API's inbox: both cheap), seconds between pulls for the others (WordPress, SQL,
S3), which the daemon schedules. The kinds (one module each): hotfolder.py (folder), api.py (api),
superdesk.py (superdesk), wordpress.py, sql.py, s3.py; registry.py builds them from the configuration.
Shared: storyfiles.py (a story file's bytes into a document: the hot folder and S3), ninjs.py (ninjs 1.x-3.x
into the story contract: the API and Superdesk).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from wirepub.errors import StoryError
from wirepub.progress import Progress
from wirepub.story import Story


@dataclass(frozen=True, slots=True)
class Rejection:
    ref: str             # what the source calls the story: the file it came from, the API request, the post
    error: StoryError


@dataclass(slots=True)
class Collected:
    stories: list[Story] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    unsettled: list[str] = field(default_factory=list)   # maybe still being written: looked at again later
    unchanged: int = 0          # read and recorded before, and not changed since: not read again


class Memory(Protocol):
    """Where a source remembers what it has read and recorded (the store's source_items), by fingerprint."""

    def fingerprints(self, source: str) -> set[int]: ...

    def known(self, source: str, fingerprints: Sequence[int]) -> set[int]: ...

    def remember(self, source: str, items: Sequence[tuple[str, int]], now: datetime) -> None: ...


class Source(Protocol):
    name: str
    kind: str
    interval: float | None   # seconds between pulls; None: at every collect

    def collect(self, *, settle: float = 0.0, settled: Collection[str] = (),
                only: Collection[str] | None = None, progress: Progress | None = None) -> Collected:
        """What is new since the last collect. With settle, something changed in the last `settle` seconds
        may still be being written and waits, unless its ref is in `settled` (known to be complete). With
        only, just those refs are looked at (what a watch saw change); otherwise everything. Reading counts
        on progress (Stage.READ)."""
        ...

    def read(self, ref: str) -> Story:
        """One story. Raises StoryError naming ref, field and reason."""
        ...

    def done(self, refs: Sequence[str]) -> None:
        """The stories read from these refs are recorded: do not offer them again until they change."""
        ...

    def reject(self, rejection: Rejection) -> None:
        """Set the story aside with the reason, where the newsroom looks (it is never deleted)."""
        ...

    def check(self) -> str:
        """Connect, authenticate, read one: what was found, in a few words. Raises SourceError saying what is
        wrong and what to do."""
        ...
