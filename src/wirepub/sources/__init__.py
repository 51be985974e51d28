"""Sources: where approved stories come from. One module per kind; the hot folder is the first."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wirepub.errors import StoryError
from wirepub.story import Story


@dataclass(frozen=True, slots=True)
class Rejection:
    path: Path
    error: StoryError


@dataclass(slots=True)
class Collected:
    stories: list[Story] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    unsettled: list[Path] = field(default_factory=list)  # maybe still being written: looked at again later
