"""From what a source offers to recorded story versions: number the versions a story does not number,
drop content that was recorded before, refuse a published version that changed and two stories that would
share an id, and set aside what cannot be published. One bad story never stops the rest.

A batch is looked up in the store in a few queries (Versions.known) and recorded in one transaction
(Versions.record_many); a row the database refuses makes that batch go again one story at a time, so that
only the bad one is set aside.
"""

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
from wirepub.progress import Progress
from wirepub.reports import PushReport
from wirepub.sources import Collected, Rejection, Source
from wirepub.store import Known, NewVersion, Store, StoredVersion
from wirepub.story import Story

log = logging.getLogger("wirepub.intake")

BATCH = 500   # stories looked up and recorded together


class Intake:
    def __init__(self, source: Source, store: Store, clock: Clock) -> None:
        self.source = source
        self.store = store
        self.clock = clock
        self._done: list[str] = []   # refs recorded (or unchanged) in the batch at hand, told to the source at once

    def run(self, report: PushReport, *, settle: float = 0.0, settled: Collection[str] = (),
            only: Collection[str] | None = None, wait: bool = False, progress: Progress | None = None) -> list[Story]:
        """Collect from the source and record what is new; returns the stories recorded. With wait (a push,
        which runs once), stories still being written are waited for, up to twice the settle time; what is
        still changing then is left for the next run, with a warning."""
        collected = self.source.collect(settle=settle, settled=settled, only=only, progress=progress)
        recorded = self._record(collected, report)
        deadline = time.monotonic() + 2 * settle + 0.5
        while wait and collected.unsettled and time.monotonic() < deadline:
            time.sleep(min(0.25, settle / 4 or 0.25))
            collected = self.source.collect(settle=settle, settled=settled, only=collected.unsettled)
            recorded += self._record(collected, report)
        report.unsettled += collected.unsettled
        for ref in collected.unsettled if wait else ():
            report.warnings.append(f"{ref}: still being written (changed in the last {settle:g} s); left for the "
                                   "next run")
        return recorded

    def _record(self, collected: Collected, report: PushReport) -> list[Story]:
        report.unchanged += collected.unchanged
        for rejection in collected.rejected:
            self.reject(rejection, report)
        recorded: list[Story] = []
        for start in range(0, len(collected.stories), BATCH):
            recorded += self._record_batch(collected.stories[start:start + BATCH], report)
        return recorded

    def _record_batch(self, stories: list[Story], report: PushReport) -> list[Story]:
        known = self.store.versions.known([s.id for s in stories])
        settled: list[Story] = []
        self._done = []
        for claimed in self._settle_claims(self._without_clashes(stories, known, report), known, report):
            report.warnings.extend(claimed.warnings)
            story = _settle_version(claimed, known)
            if story is None:
                report.unchanged += 1
                self._done.append(claimed.origin)
                continue
            settled.append(story)
            known.add(_stored(story))   # the next file of this story in the batch numbers after this one
        recorded = self._store(settled, report)
        self.source.done(self._done)
        if self._done:   # items recorded now are no longer rejected (a corrected file, a fixed post)
            self.store.rejections.clear(self.source.name, self._done)
        return recorded

    def _store(self, stories: list[Story], report: PushReport) -> list[Story]:
        now = self.clock.now()
        try:
            before = self.store.versions.record_many([_new_version(s) for s in stories], now)
        except (sa.exc.DataError, sa.exc.IntegrityError):   # a row, not the store, is the problem: find it
            return [s for s in stories if self._store_one(s, report, now)]
        return [s for s in stories if self._outcome(s, before[(s.id, s.version)], report)]

    def _store_one(self, story: Story, report: PushReport, now: datetime) -> bool:
        try:
            before = self.store.versions.record(_new_version(story), now)
        except (sa.exc.DataError, sa.exc.IntegrityError) as exc:
            self.reject(Rejection(story.origin, StoryError(
                f"the store refused it ({str(exc.orig).splitlines()[0][:200]})", file=story.origin)), report)
            return False
        return self._outcome(story, before, report)

    def _outcome(self, story: Story, before: str | None, report: PushReport) -> bool:
        """Tell the source and the report what became of one story; True if it is newly recorded."""
        if before is None:
            if story.media_files:   # local pictures: their bytes kept by content address, for delivery
                files = {m.sha256: (m.type or "application/octet-stream", story.media_files[m.sha256])
                         for m in story.media if m.sha256 and m.sha256 in story.media_files}
                self.store.ledger.keep_files(files, self.clock.now())
            self._done.append(story.origin)
            report.new.append((story.id, story.version))
            log.info("story recorded", extra=facts(story=story.id, version=story.version, status=story.status,
                                                   origin=story.origin))
            return True
        if before == story.content_hash:
            self._done.append(story.origin)
            report.unchanged += 1
            return False
        self.reject(Rejection(story.origin, StoryError(
            f"version {story.version} of story {story.id} was already recorded with other content; "
            "a published version never changes: give this one the next version number",
            file=story.origin, field="version")), report)
        return False

    def _without_clashes(self, stories: list[Story], known: Known, report: PushReport) -> list[Story]:
        """Two different stories that would share an id (file names that give the same id, ids that differ
        only in case, which collide on case-insensitive destinations) are refused, naming the first."""
        out = []
        for story in stories:
            twin = known.case_twin(story.id)
            names = {Path(o).name for o in known.origins(story.id)}
            others = sorted(names - {story.named_by}) if story.named_by else []
            if twin is not None:
                clash = (f"the id {story.id!r} differs only in case from the story {twin!r}, and they would "
                         "overwrite each other on case-insensitive destinations; give it another id")
            elif others:
                clash = (f"its file name gives the story id {story.id!r}, which {others[0]} already has "
                         "(a different story); rename one of the files")
            else:
                known.ids_by_lower.setdefault(story.id.lower(), set()).add(story.id)
                out.append(story)
                continue
            self.reject(Rejection(story.origin, StoryError(clash, file=story.origin, field="id")), report)
        return out

    def reject(self, rejection: Rejection, report: PushReport) -> None:
        report.rejected.append(rejection)
        error = rejection.error
        log.warning("story set aside", extra=facts(source=self.source.name, file=error.file,
                                                   field=error.field or "file", reason=error.reason))
        self.source.reject(rejection)
        self.store.rejections.note(self.source.name, rejection.ref, error.field, error.reason, self.clock.now())

    def _settle_claims(self, stories: list[Story], known: Known, report: PushReport) -> list[Story]:
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
            if "version" in claimants[0].document:
                recorded = {known.content_of(story_id, version)}
            else:
                recorded = {s.content_hash for s in claimants if known.has_content(story_id, s.content_hash)}
            names = ", ".join(Path(s.origin).name for s in claimants)
            for s in claimants:
                if s.content_hash in recorded:
                    keep.append(s)   # the one already published stays; only the newcomer is refused
                    continue
                self.reject(Rejection(s.origin, StoryError(
                    f"{names} claim story {story_id} version {version} with different content; "
                    "give the newer one the next version number", file=s.origin, field="version")), report)
        return sorted(keep, key=lambda s: (s.version_created, s.id, s.version))


def _settle_version(story: Story, known: Known) -> Story | None:
    """Number a story that names no version, and drop content that was already recorded: a file left in the
    hot folder, or the same text approved again, sends nothing."""
    if "version" not in story.document and known.has_content(story.id, story.content_hash):
        return None
    latest = known.latest(story.id)
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


def _stored(story: Story) -> StoredVersion:
    return StoredVersion(story.id, story.version, story.status, story.content_hash, stored_document(story),
                         story.origin, story.embargo, None)


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
