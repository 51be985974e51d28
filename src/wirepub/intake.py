"""From what a source offers to recorded story versions: number the versions a story does not number,
drop content that was recorded before, refuse a published version that changed, and set aside what
cannot be published. One bad story never stops the rest."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from wirepub.clock import Clock
from wirepub.errors import StoryError
from wirepub.logs import facts
from wirepub.reports import PushReport
from wirepub.sources import Collected, Rejection, Source
from wirepub.store import NewVersion, Store
from wirepub.story import Story

log = logging.getLogger("wirepub.intake")


class Intake:
    def __init__(self, source: Source, store: Store, clock: Clock) -> None:
        self.source = source
        self.store = store
        self.clock = clock
        self._done: list[str] = []

    def run(self, report: PushReport, *, settle: float = 0.0, settled: Collection[str] = (),
            wait: bool = False) -> list[Story]:
        """Collect from the source and record what is new; returns the stories recorded. With wait (a push,
        which runs once), stories still being written are waited for, up to twice the settle time; what is
        still changing then is left for the next run, with a warning."""
        collected = self.source.collect(settle=settle, settled=settled)
        recorded = self._record(collected, report)
        deadline = time.monotonic() + 2 * settle + 0.5
        while wait and collected.unsettled and time.monotonic() < deadline:
            time.sleep(min(0.25, settle / 4 or 0.25))
            collected = self.source.collect(settle=settle, settled=settled)
            recorded += self._record(collected, report)
        for ref in collected.unsettled if wait else ():
            report.warnings.append(f"{ref}: still being written (changed in the last {settle:g} s); left for the "
                                   "next run")
        return recorded

    def _record(self, collected: Collected, report: PushReport) -> list[Story]:
        try:
            return self._record_all(collected, report)
        finally:
            if self._done:   # items recorded now are no longer rejected (a corrected file, a fixed post)
                self.store.rejections.clear(self.source.name, self._done)
                self._done = []

    def _finish(self, ref: str) -> None:
        self.source.done(ref)
        self._done.append(ref)

    def _record_all(self, collected: Collected, report: PushReport) -> list[Story]:
        for rejection in collected.rejected:
            self.reject(rejection, report)
        recorded: list[Story] = []
        stories = []
        for candidate in collected.stories:
            clash = self._clash(candidate)
            if clash is None:
                stories.append(candidate)
            else:
                self.reject(Rejection(candidate.origin, clash), report)
        for claimed in self._settle_claims(stories, report):
            report.warnings.extend(claimed.warnings)
            story = self._settle_version(claimed)
            if story is None:
                report.unchanged += 1
                self._finish(claimed.origin)
                continue
            try:
                before = self.store.versions.record(_new_version(story), self.clock.now())
            except (sa.exc.DataError, sa.exc.IntegrityError) as exc:   # this row, not the store, is the problem
                self.reject(Rejection(story.origin, StoryError(
                    f"the store refused it ({str(exc.orig).splitlines()[0][:200]})", file=story.origin)), report)
                continue
            if before is None:
                self._finish(story.origin)
                recorded.append(story)
                report.new.append((story.id, story.version))
                log.info("story recorded", extra=facts(story=story.id, version=story.version, status=story.status,
                                                       origin=story.origin))
            elif before == story.content_hash:
                self._finish(story.origin)
                report.unchanged += 1
            else:
                self.reject(Rejection(story.origin, StoryError(
                    f"version {story.version} of story {story.id} was already recorded with other content; "
                    "a published version never changes: give this one the next version number",
                    file=story.origin, field="version")), report)
        return recorded

    def _clash(self, story: Story) -> StoryError | None:
        """Two different stories that would share an id (file names that give the same id, ids that differ
        only in case, which collide on case-insensitive destinations), named both."""
        twin = self.store.versions.case_twin(story.id)
        if twin is not None:
            return StoryError(f"the id {story.id!r} differs only in case from the story {twin!r}, and they would "
                              "overwrite each other on case-insensitive destinations; give it another id",
                              file=story.origin, field="id")
        if story.named_by is not None:
            others = sorted({Path(o).name for o in self.store.versions.origins(story.id)} - {story.named_by})
            if others:
                return StoryError(f"its file name gives the story id {story.id!r}, which {others[0]} already has "
                                  "(a different story); rename one of the files", file=story.origin, field="id")
        return None

    def reject(self, rejection: Rejection, report: PushReport) -> None:
        report.rejected.append(rejection)
        error = rejection.error
        log.warning("story set aside", extra=facts(source=self.source.name, file=error.file,
                                                   field=error.field or "file", reason=error.reason))
        self.source.reject(rejection)
        self.store.rejections.note(self.source.name, rejection.ref, error.field, error.reason, self.clock.now())

    def _settle_claims(self, stories: list[Story], report: PushReport) -> list[Story]:
        """Several stories claiming one id and version with different content: the one the store already
        holds stays; if none is recorded nobody can tell which is right, so all of them are set aside."""
        claims: dict[tuple[str, int], list[Story]] = defaultdict(list)
        for story in stories:
            claims[(story.id, story.version)].append(story)
        keep: list[Story] = []
        for (story_id, version), claimants in claims.items():
            if len({s.content_hash for s in claimants}) == 1:
                keep.append(claimants[0])
                continue
            recorded = self._recorded(story_id, version, claimants)
            names = ", ".join(Path(s.origin).name for s in claimants)
            for s in claimants:
                if s.content_hash in recorded:
                    keep.append(s)   # the one already published stays; only the newcomer is refused
                    continue
                self.reject(Rejection(s.origin, StoryError(
                    f"{names} claim story {story_id} version {version} with different content; "
                    "give the newer one the next version number", file=s.origin, field="version")), report)
        return sorted(keep, key=lambda s: (s.version_created, s.id, s.version))

    def _recorded(self, story_id: str, version: int, claimants: list[Story]) -> set[str]:
        """Which of these contents the store already holds: as this version if the files number it, as any
        version of the story if they do not."""
        if "version" in claimants[0].document:
            return {self.store.versions.content_hash_of(story_id, version) or ""}
        return {s.content_hash for s in claimants if self.store.versions.has_content(story_id, s.content_hash)}

    def _settle_version(self, story: Story) -> Story | None:
        """Number a story that names no version, and drop content that was already recorded: a file left
        in the hot folder, or the same text approved again, sends nothing."""
        versions = self.store.versions
        if "version" not in story.document and versions.has_content(story.id, story.content_hash):
            return None
        latest = versions.latest(story.id)
        if latest is None:
            return story
        if latest.content_hash == story.content_hash and story.version > latest.version:
            return None  # a new number on unchanged content: nothing to send
        changes: dict[str, Any] = {}
        if "version" not in story.document:
            changes["version"] = latest.version + 1
        if "first_created" not in story.document and "first_created" in latest.document:
            changes["first_created"] = datetime.fromisoformat(latest.document["first_created"])
        return dataclasses.replace(story, **changes) if changes else story


def _new_version(story: Story) -> NewVersion:
    return NewVersion(story_id=story.id, version=story.version, status=story.status,
                      content_hash=story.content_hash, document=stored_document(story), origin=story.origin,
                      version_created=story.version_created, embargo=story.embargo)


def stored_document(story: Story) -> dict[str, Any]:
    """The document as it will be rebuilt from the store: defaults the source supplied made explicit."""
    doc = dict(story.document)
    doc.update(version=story.version, status=story.status, language=story.language,
               version_created=story.version_created.isoformat(), first_created=story.first_created.isoformat())
    for key in ("copyright_holder", "copyright_notice", "usage_terms"):
        value = getattr(story, key)
        if value is not None:
            doc[key] = value
    return doc
