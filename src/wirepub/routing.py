"""What goes where, decided in one pure function: a story version, the partners, who had the story before,
and the time, in; one Route per partner that gets something, out. Nothing here reads or writes anything.

The rules, in one place:
- A story under embargo goes nowhere before its time, except its item documents to partners trusted with
  embargoed copy (embargo = "send-with-embargo") that take it and have an item format; feeds wait. A kill
  under embargo waits for its time too.
- A withdrawn story (a kill) goes to the partners that had an earlier version of it, and to no one else,
  whatever their filters say now.
- A released story goes to every partner whose filter takes it, at the partner's next batch time.
- A partner's feeds hold the latest released version of each story its filter takes. A withdrawn story the
  partner had stays as its kill notice for kill_notice_hours after the kill (on_kill_feed = "notice"), or
  leaves at once ("drop").
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from wirepub.partners import Partner
from wirepub.story import Story
from wirepub.vocabulary import EmbargoPolicy, FormatKind, OnKillFeed, RouteAction


@dataclass(frozen=True, slots=True)
class Route:
    partner: Partner
    action: RouteAction
    not_before: datetime       # the partner's next batch time (its schedule), or now


def route(story: Story, partners: Sequence[Partner], *, had: Collection[str], now: datetime) -> list[Route]:
    """Where this story version goes now. `had`: names of the partners that had (or are about to have) any
    version of the story."""
    if story.embargoed_at(now):
        chosen = [] if story.withdrawn else [
            (p, RouteAction.EARLY) for p in partners
            if p.embargo == EmbargoPolicy.SEND_WITH_EMBARGO and p.formats_of(FormatKind.ITEM)
            and p.filter.matches(story)]
    elif story.withdrawn:
        chosen = [(p, RouteAction.KILL) for p in partners if p.name in had]
    else:
        chosen = [(p, RouteAction.SEND) for p in partners if p.filter.matches(story)]
    return [Route(p, action, p.next_batch(now)) for p, action in chosen]


def in_feed(story: Story, partner: Partner, *, now: datetime | None = None, had: bool = False) -> bool:
    """Does this (latest released) version belong in the partner's feeds? `had`: the partner had the story
    (a kill notice goes only where the story went)."""
    if not story.withdrawn:
        return partner.filter.matches(story)
    if partner.on_kill_feed != OnKillFeed.NOTICE or not had:
        return False
    return now is None or now <= notice_until(story, partner)


def notice_until(story: Story, partner: Partner) -> datetime:
    """When a kill notice leaves the partner's feeds: kill_notice_hours after the kill was released."""
    killed = max(story.version_created, story.embargo) if story.embargo else story.version_created
    return killed + timedelta(hours=partner.kill_notice_hours)
