"""What goes where, decided in one pure function: a story version, the partners, who had the story before,
and the time, in; one Route per partner that gets something, out. Nothing here reads or writes anything.

The rules, in one place:
- A story under embargo goes nowhere before its time, except its item documents to partners trusted with
  embargoed copy (embargo = "send-with-embargo") that take it and have an item format; feeds wait. A kill
  under embargo waits for its time too.
- A withdrawn story (a kill) goes to the partners that had an earlier version of it, and to no one else,
  whatever their filters say now.
- A released story goes to every partner whose filter takes it, at the partner's next batch time.
- A partner's feeds hold the latest released version of each story its filter takes, withdrawn ones left out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from wirepub.partners import Partner
from wirepub.story import Story
from wirepub.vocabulary import EmbargoPolicy, FormatKind, RouteAction


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


def in_feed(story: Story, partner: Partner) -> bool:
    """Does this (latest released) version belong in the partner's feeds?"""
    return not story.withdrawn and partner.filter.matches(story)
