"""routing.route decides what goes where, in one pure function: a table of cases, no store, no files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from wirepub.partners import Partner, StoryFilter
from wirepub.routing import in_feed, route
from wirepub.story import story_from_document
from wirepub.transports import Destination
from wirepub.vocabulary import EmbargoPolicy, RouteAction

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LATER = (NOW + timedelta(hours=1)).isoformat()
EARLIER = (NOW - timedelta(hours=1)).isoformat()


def partner(name: str, *, formats: tuple[str, ...] = ("newsml-g2", "rss"), languages: tuple[str, ...] = (),
            embargo: EmbargoPolicy = EmbargoPolicy.HOLD, schedule: str | None = None) -> Partner:
    return Partner(name, (Destination(f"folder-{name}"),), formats=formats,
                   filter=StoryFilter(languages=frozenset(languages)), embargo=embargo, schedule=schedule)


EN = partner("en", languages=("en",))
FR = partner("fr", languages=("fr",))
TRUSTED = partner("trusted", embargo=EmbargoPolicy.SEND_WITH_EMBARGO)
TRUSTED_FEEDS_ONLY = partner("trusted-feeds", formats=("rss",), embargo=EmbargoPolicy.SEND_WITH_EMBARGO)
HOURLY = partner("hourly", schedule="30 * * * *")
ALL = (EN, FR, TRUSTED, TRUSTED_FEEDS_ONLY, HOURLY)


def story(**fields: Any):  # type: ignore[no-untyped-def]
    doc = {"id": "s", "headline": "H", "body": "B", "language": "en", "version_created": EARLIER, **fields}
    return story_from_document(doc, origin="t.json")


@pytest.mark.parametrize(("case", "doc", "had", "expected"), [
    ("released: every partner whose filter takes it", {}, set(),
     {"en": RouteAction.SEND, "trusted": RouteAction.SEND, "trusted-feeds": RouteAction.SEND,
      "hourly": RouteAction.SEND}),
    ("a French story: the French partner, not the English one", {"language": "fr"}, set(),
     {"fr": RouteAction.SEND, "trusted": RouteAction.SEND, "trusted-feeds": RouteAction.SEND,
      "hourly": RouteAction.SEND}),
    ("embargoed: only partners trusted with it that take items", {"embargo": LATER}, set(),
     {"trusted": RouteAction.EARLY}),
    ("embargo passed: released to all", {"embargo": EARLIER}, set(),
     {"en": RouteAction.SEND, "trusted": RouteAction.SEND, "trusted-feeds": RouteAction.SEND,
      "hourly": RouteAction.SEND}),
    ("a kill: only those that had the story, filters aside", {"status": "withdrawn", "language": "fr", "version": 2},
     {"en", "hourly"}, {"en": RouteAction.KILL, "hourly": RouteAction.KILL}),
    ("a kill nobody had goes nowhere", {"status": "withdrawn", "version": 2}, set(), {}),
    ("a kill under embargo waits for its time", {"status": "withdrawn", "version": 2, "embargo": LATER},
     {"en", "trusted"}, {}),
])
def test_route(case: str, doc: dict[str, Any], had: set[str], expected: dict[str, RouteAction]) -> None:
    routes = route(story(**doc), ALL, had=had, now=NOW)
    assert {r.partner.name: r.action for r in routes} == expected, case


def test_a_scheduled_partner_gets_it_at_its_next_batch_time_and_the_others_now() -> None:
    when = {r.partner.name: r.not_before for r in route(story(), ALL, had=set(), now=NOW)}
    assert when["en"] == NOW and when["hourly"] == NOW.replace(minute=30)


@pytest.mark.parametrize(("doc", "partner_", "expected"), [
    ({}, EN, True), ({"language": "fr"}, EN, False), ({"status": "withdrawn", "version": 2}, EN, False),
])
def test_what_a_feed_holds(doc: dict[str, Any], partner_: Partner, expected: bool) -> None:
    assert in_feed(story(**doc), partner_) is expected
