"""wirepub.toml: loaded, checked against schemas/config.schema.json, turned into plain settings.

Without a configuration file wirepub runs on embedded defaults: stories from ./stories, the store in
./.wirepub/wirepub.db (SQLite), every format into the folder ./public.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import string
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from apscheduler.triggers.cron import CronTrigger
from jsonschema.exceptions import best_match

from wirepub.errors import ConfigError
from wirepub.resources import schema_path
from wirepub.story import Story
from wirepub.transports import Destination

ALL_FORMATS = ("newsml-g2", "rss", "jsonfeed")
CONFIG_ENV = "WIREPUB_CONFIG"
STORE_ENV = "WIREPUB_STORE_URL"   # overrides store.url: where a database password belongs
DEFAULT_NAME = "wirepub.toml"


@dataclass(frozen=True, slots=True)
class Provider:
    id: str = "wirepub.example"
    name: str = "wirepub"
    url: str = "https://wirepub.example/"
    copyright_holder: str | None = None
    copyright_notice: str | None = None
    usage_terms: str | None = None

    def guid(self, story_id: str) -> str:
        return f"urn:newsml:{self.id}:{story_id}"


@dataclass(frozen=True, slots=True)
class Channel:
    title: str = "wirepub wire"
    description: str = "Latest stories"
    link: str = "https://wirepub.example/"
    language: str = "en"
    max_items: int = 50
    public_url: str = "https://wirepub.example/wire/"
    item_url: str | None = None


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


@dataclass(frozen=True, slots=True)
class Layout:
    """Where a partner's documents go below each of its destinations (partners.paths)."""

    item: str = ITEM_LAYOUT
    feed: str = FEED_LAYOUT

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
            ("item", self.item, {"id", "version", "format", "ext", "year", "month", "day"},
             [{"id"}, {"version"}, {"ext", "format"}]),
            ("feed", self.feed, {"format", "ext"}, [{"ext", "format"}]),
        ):
            try:
                fields = {name for _, name, spec, _ in string.Formatter().parse(text) if name is not None}
            except ValueError as exc:
                out.append((key, f"not a path template: {exc}"))
                continue
            unknown = fields - allowed
            if unknown:
                out.append((key, f"unknown placeholder(s) {', '.join(sorted(unknown))}; "
                                 f"allowed: {', '.join(sorted(allowed))}"))
            for need in needed:
                if not fields & need:
                    out.append((key, f"must contain {' or '.join('{' + n + '}' for n in sorted(need))}, or "
                                     "documents would overwrite each other"))
            if text.startswith("/") or "\\" in text or ".." in text.split("/"):
                out.append((key, "must be a relative path without '..' or backslashes"))
        return out


@dataclass(frozen=True, slots=True)
class Partner:
    name: str
    destinations: tuple[Destination, ...]
    formats: tuple[str, ...] = ALL_FORMATS
    templates: dict[str, Path] = field(default_factory=dict)
    filter: StoryFilter = StoryFilter()
    delivery: DeliveryPolicy = DeliveryPolicy()
    schedule: str | None = None          # cron: documents wait for the next of these times
    embargo: str = "hold"                # hold | send-with-embargo
    on_kill: str = "replace"             # keep | replace | delete the earlier versions' item documents
    paths: Layout = Layout()

    def next_batch(self, now: datetime) -> datetime:
        """When a document released now may go to this partner: now, or its schedule's next time."""
        if self.schedule is None:
            return now
        nxt = _cron(self.schedule).get_next_fire_time(None, now)
        return nxt if nxt is not None else now


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    interval: float = 2.0
    watch: bool = True
    listen: str = "127.0.0.1:8787"
    shutdown_grace: float = 30.0
    lease: float = 60.0
    node: str = field(default_factory=lambda: this_process())


def this_process() -> str:
    """host:pid:start-time. The start time tells a live process from a later one that got the same pid, so
    a node can tell that the owner of a lease on this host is gone (see delivery.release_orphaned_leases)."""
    return f"{socket.gethostname()}:{os.getpid()}:{process_start(os.getpid()) or 0}"


def process_start(pid: int) -> str | None:
    """When process pid started, in clock ticks since boot (Linux /proc); None if it does not run."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return "?"
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass(frozen=True, slots=True)
class Config:
    base_dir: Path
    source_path: Path
    rejected_path: Path
    default_language: str
    store_url: str
    provider: Provider
    channel: Channel
    partners: tuple[Partner, ...]
    official_schemas: dict[str, Path]
    delivery: DeliveryPolicy = DeliveryPolicy()
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    path: Path | None = None  # the file it came from; None for the embedded defaults


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(schema_path("config.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def find_config(explicit: str | os.PathLike[str] | None) -> Path | None:
    """--config, else $WIREPUB_CONFIG, else ./wirepub.toml if there is one, else None (defaults)."""
    named = explicit or os.environ.get(CONFIG_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError("no such configuration file; run `wirepub init` to write one", path=str(path))
        return path
    local = Path(DEFAULT_NAME)
    return local if local.is_file() else None


def load_config(path: Path | None, *, base_dir: Path | None = None) -> Config:
    if path is None:
        return build_config({}, base_dir=(base_dir or Path.cwd()).resolve(), path=None)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not valid UTF-8: {exc}", path=str(path)) from None
    return build_config(raw, base_dir=path.resolve().parent, path=path)


def build_config(raw: dict[str, Any], *, base_dir: Path, path: Path | None) -> Config:
    error = best_match(_validator().iter_errors(raw))
    if error is not None:
        key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConfigError(error.message, key=key, path=str(path) if path else None)

    def resolve(p: str) -> Path:
        return (base_dir / os.path.expanduser(p)).resolve()

    source = raw.get("source", {})
    source_path = resolve(source.get("path", "stories"))
    store_url = os.environ.get(STORE_ENV) or raw.get("store", {}).get("url", "sqlite:///.wirepub/wirepub.db")
    if store_url.startswith("sqlite:///") and not store_url.startswith("sqlite:////"):
        relative = store_url.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            store_url = f"sqlite:///{resolve(relative)}"
    delivery = DeliveryPolicy(**raw.get("delivery", {}))
    partners = tuple(
        Partner(
            name=p["name"],
            destinations=tuple(Destination(d) if isinstance(d, str)
                               else Destination(d["url"], {k: v for k, v in d.items() if k != "url"})
                               for d in p["destinations"]),
            formats=tuple(p.get("formats", ALL_FORMATS)),
            templates={fmt: resolve(t) for fmt, t in p.get("templates", {}).items()},
            filter=StoryFilter.from_config(p.get("filter", {})),
            delivery=dataclasses.replace(delivery, **p.get("delivery", {})),
            schedule=p.get("schedule"),
            embargo=p.get("embargo", "hold"),
            on_kill=p.get("on_kill", "replace"),
            paths=Layout(**p.get("paths", {})),
        )
        for p in raw.get("partners", [{"name": "local", "destinations": ["public"]}])
    )
    names = [p.name for p in partners]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"partner name {name!r} is used twice", key="partners", path=str(path or ""))
    for i, partner in enumerate(partners):
        for key, problem in partner.paths.problems():
            raise ConfigError(problem, key=f"partners.{i}.paths.{key}", path=str(path) if path else None)
        if partner.schedule is not None:
            try:
                _cron(partner.schedule)
            except ValueError as exc:
                raise ConfigError(f"not a cron expression (minute hour day month weekday): {exc}",
                                  key=f"partners.{i}.schedule", path=str(path) if path else None) from None
        for fmt, tpl in partner.templates.items():
            if not tpl.is_file():
                raise ConfigError(f"template file {tpl} does not exist",
                                  key=f"partners.{i}.templates.{fmt}", path=str(path) if path else None)
    validation = raw.get("validation", {})
    official = {fmt: resolve(validation[key]) for fmt, key in
                (("newsml-g2", "newsml_g2_xsd"), ("jsonfeed", "jsonfeed_schema")) if key in validation}
    for fmt, schema_file in official.items():
        if not schema_file.is_file():
            raise ConfigError(f"schema file {schema_file} does not exist",
                              key=f"validation.{'newsml_g2_xsd' if fmt == 'newsml-g2' else 'jsonfeed_schema'}",
                              path=str(path) if path else None)
    return Config(
        base_dir=base_dir,
        source_path=source_path,
        rejected_path=source_path / source.get("rejected", "rejected"),
        default_language=source.get("language", "en"),
        store_url=store_url,
        provider=Provider(**raw.get("provider", {})),
        channel=Channel(**raw.get("channel", {})),
        partners=partners,
        official_schemas=official,
        delivery=delivery,
        daemon=DaemonSettings(**raw.get("daemon", {})),
        path=path,
    )


@lru_cache(maxsize=64)
def _cron(expression: str) -> CronTrigger:
    return CronTrigger.from_crontab(expression, timezone=UTC)
