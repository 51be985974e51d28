"""Sources: where approved stories come from (DESIGN.md). One module per kind; the flow knows only the
Source protocol below, never a kind.

A source is asked to collect what it has that is new; the flow records each story and tells the source
`done` (recorded: do not offer it again unless it changes) or `reject` (it cannot be published: set it
aside with the reason, where the newsroom will see it). `read` reads one story by its reference (a path
for the hot folder), for `wirepub render` and `wirepub validate`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol

from wirepub.errors import StoryError
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


class Source(Protocol):
    name: str

    def collect(self, *, settle: float = 0.0, settled: Collection[str] = ()) -> Collected:
        """What is new since the last collect. With settle, something changed in the last `settle` seconds
        may still be being written and waits, unless its ref is in `settled` (known to be complete)."""
        ...

    def read(self, ref: str) -> Story:
        """One story. Raises StoryError naming ref, field and reason."""
        ...

    def done(self, ref: str) -> None:
        """The story read from ref is recorded: do not offer it again until it changes."""
        ...

    def reject(self, rejection: Rejection) -> None:
        """Set the story aside with the reason, where the newsroom looks (it is never deleted)."""
        ...
