"""Partners: who receives what, and how (wirepub.toml's [[partners]]): a name, a filter, the formats it
takes, its destinations, its delivery policy and schedule, its embargo and kill policies, where its documents
go below each destination, and its own templates."""

from __future__ import annotations

import os
import string
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from apscheduler.triggers.cron import CronTrigger

from wirepub.channel import Channel
from wirepub.formats import Format
from wirepub.formats import registry as formats
from wirepub.story import Story
from wirepub.transports import Destination
from wirepub.urls import shown
from wirepub.vocabulary import EmbargoPolicy, FormatKind, OnKill, OnKillFeed


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    max_attempts: int = 10
    base_delay: float = 2.0
    max_delay: float = 900.0
    max_age: float = 86_400.0
    concurrency: int = 16
    partner_concurrency: int = 4


@dataclass(frozen=True, slots=True)
class StoryFilter:
    """Which stories a partner takes. Every condition given must hold; an empty filter takes everything."""

    any_subjects: frozenset[str] = frozenset()
    all_subjects: frozenset[str] = frozenset()
    any_keywords: frozenset[str] = frozenset()
    all_keywords: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    genres: frozenset[str] = frozenset()
    max_urgency: int | None = None

    def matches(self, story: Story) -> bool:
        subjects = {s.code for s in story.subjects if s.code} | {s.name.casefold() for s in story.subjects}
        keywords = {k.casefold() for k in story.keywords}
        lang = story.language.casefold()
        return (
            (not self.any_subjects or bool(self.any_subjects & subjects))
            and self.all_subjects <= subjects
            and (not self.any_keywords or bool(self.any_keywords & keywords))
            and self.all_keywords <= keywords
            and (not self.languages or lang in self.languages or lang.split("-")[0] in self.languages)
            and (not self.genres or (story.genre or "").casefold() in self.genres)
            and (self.max_urgency is None or (story.urgency or 5) <= self.max_urgency)
        )

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> StoryFilter:
        def norm(key: str, fold_codes: bool = False) -> frozenset[str]:
            return frozenset(v if fold_codes and ":" in v else v.casefold() for v in raw.get(key, ()))

        return cls(norm("any_subjects", True), norm("all_subjects", True), norm("any_keywords"),
                   norm("all_keywords"), norm("languages"), norm("genres"), raw.get("max_urgency"))


ITEM_LAYOUT = "items/{id}/v{version}.{ext}"
FEED_LAYOUT = "feeds/{format}.{ext}"
MEDIA_LAYOUT = "media/{sha256}.{ext}"


@dataclass(frozen=True, slots=True)
class Layout:
    """Where a partner's documents go below each of its destinations (partners.paths)."""

    item: str = ITEM_LAYOUT
    feed: str = FEED_LAYOUT
    media: str = MEDIA_LAYOUT

    def media_path(self, sha256: str, ext: str) -> str:
        """A local picture's content-addressed path: the same bytes, the same path, for ever."""
        return self.media.format(sha256=sha256, ext=ext, prefix=sha256[:2])

    def item_path(self, story: Story, format_name: str, ext: str) -> str:
        made = story.first_created
        return self.item.format(id=story.id, version=story.version, format=format_name, ext=ext,
                                year=f"{made.year:04d}", month=f"{made.month:02d}", day=f"{made.day:02d}")

    def feed_path(self, format_name: str, ext: str) -> str:
        return self.feed.format(format=format_name, ext=ext)

    def problems(self) -> list[tuple[str, str]]:
        """(key, what is wrong) for layouts that would put documents outside the destination or on top of
        each other."""
        out = []
        for key, text, allowed, needed in (
            ("item", self.item, ITEM_FIELDS, [{"id"}, {"version"}, {"ext", "format"}]),
            ("feed", self.feed, FEED_FIELDS, [{"ext", "format"}]),
            ("media", self.media, MEDIA_FIELDS, [{"sha256"}]),
        ):
            try:
                parsed = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(text)
                          if name is not None]
            except ValueError as exc:
                out.append((key, f"not a path template: {exc}"))
                continue
            fields = {name for name, _, _ in parsed}
            if any(spec or conv for _, spec, conv in parsed):
                out.append((key, "placeholders take no format spec or conversion ({ext:.0} and {id!r} are refused)"))
                continue
            unknown = fields - allowed
            if unknown:
                out.append((key, f"unknown placeholder(s) {', '.join(sorted(unknown))}; "
                                 f"allowed: {', '.join(sorted(allowed))}"))
                continue
            for need in needed:
                if not fields & need:
                    out.append((key, f"must contain {' or '.join('{' + n + '}' for n in sorted(need))}, or "
                                     "documents would overwrite each other"))
            sample = text.format(**SAMPLE)
            if text.startswith("/") or "\\" in text or ".." in sample.split("/") or "" in sample.split("/"):
                out.append((key, "must be a relative path without '..', empty parts or backslashes"))
        return out

    def places(self, kind: FormatKind, fmt: Format) -> str:
        """One path this layout gives a document of this format, with the same sample story for every
        layout: two layouts giving the same place would overwrite each other's documents."""
        text = self.item if kind == FormatKind.ITEM else self.feed
        return text.format(**{**SAMPLE, "format": fmt.name, "ext": fmt.extension})


ITEM_FIELDS = frozenset({"id", "version", "format", "ext", "year", "month", "day"})
FEED_FIELDS = frozenset({"format", "ext"})
MEDIA_FIELDS = frozenset({"sha256", "ext", "prefix"})
SAMPLE = {"id": "story-1", "version": 1, "format": "fmt", "ext": "ext", "year": "2026", "month": "01", "day": "02",
          "sha256": "0" * 64, "prefix": "00"}


@dataclass(frozen=True, slots=True)
class Partner:
    name: str
    destinations: tuple[Destination, ...]
    formats: tuple[str, ...] = ()
    templates: dict[str, Path] = field(default_factory=dict)   # by format name, or kill-notice / correction
    filter: StoryFilter = StoryFilter()
    delivery: DeliveryPolicy = DeliveryPolicy()
    schedule: str | None = None          # cron: documents wait for the next of these times
    embargo: EmbargoPolicy = EmbargoPolicy.HOLD
    on_kill: OnKill = OnKill.REPLACE     # what becomes of the earlier versions' item documents
    paths: Layout = Layout()
    profile: str | None = None           # a dialect of rss: smartnews, msn, flipboard (formats.profiles)
    channel: dict[str, Any] = field(default_factory=dict)    # the partner's own channel settings
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)   # ... per format, over those
    field_maps: dict[str, dict[str, Any]] = field(default_factory=dict)  # JSON formats' field maps
    ninjs_version: str = "3.1"
    on_kill_feed: OnKillFeed = OnKillFeed.NOTICE
    kill_notice_hours: float = 48.0      # how long a kill notice stays in the feeds
    newsml_packages: bool = False        # NewsML-G2: picture items and a packageItem beside the text item
    public_urls: dict[str, str] = field(default_factory=dict)   # destination URL -> where partners read it

    def channel_for(self, format_name: str, base: Channel) -> Channel:
        """The channel this partner's copy of a format says: the global one, the partner's settings over it,
        the partner's settings for this format over those."""
        over = {**self.channel, **self.channels.get(format_name, {})}
        if "hubs" in over:
            over["hubs"] = tuple(over["hubs"])
        return replace(base, **over) if over else base

    def public_url_of(self, destination: Destination) -> str | None:
        """Where partners read this destination's files, if the destination says (its public_url setting)."""
        return self.public_urls.get(destination.url)

    def formats_of(self, kind: FormatKind) -> list[Format]:
        """This partner's formats of one kind, as format objects, in the order it lists them."""
        return [f for f in (formats.get(n) for n in self.formats) if f.kind == kind]

    def next_batch(self, now: datetime) -> datetime:
        """When a document released now may go to this partner: now, or its schedule's next time."""
        if self.schedule is None:
            return now
        nxt = cron(self.schedule).get_next_fire_time(None, now)
        return nxt if nxt is not None else now



@lru_cache(maxsize=64)
def cron(expression: str) -> CronTrigger:
    return CronTrigger.from_crontab(expression, timezone=UTC)


def collisions(partners: Sequence[Partner], base_dir: Path) -> list[str]:
    """Pairs of partners that would write documents at the same place (the same destination and a layout
    giving the same path for a format both take), said as a sentence naming both."""
    out = []
    for i, a in enumerate(partners):
        for b in partners[i + 1:]:
            shared = {place(d, base_dir) for d in a.destinations} & {place(d, base_dir) for d in b.destinations}
            if not shared:
                continue
            for kind in FormatKind:
                paths_a = {a.paths.places(kind, f) for f in a.formats_of(kind)}
                same = paths_a & {b.paths.places(kind, f) for f in b.formats_of(kind)}
                if same:
                    out.append(f"partners {a.name} and {b.name} would both write {sorted(same)[0]} at "
                               f"{sorted(shared)[0]}, and overwrite each other; give one of them another "
                               "destination, or its own paths (partners.paths)")
                    break
    return out


def place(destination: Destination, base_dir: Path) -> str:
    """Where a destination's documents land, the same string for two spellings of one place."""
    url = destination.url
    if "://" not in url or url.startswith("file:"):
        raw = urlsplit(url).path if url.startswith("file:") else url
        return "file:" + str((base_dir / os.path.expanduser(unquote(raw))).resolve())
    parts = urlsplit(shown(url))
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, ""))
