"""Formats: a renderer plus its schema, media type and file extension, in one registry.

Two shapes (DESIGN.md): an *item format* renders one document per story version; a *feed format* renders
one document per channel from the latest stories it is given (chosen and ordered by the caller). Rendering
is pure: stories and a RenderContext in, bytes out.

Adding a format is one registry entry: a module here (or in a plugin package, through the entry point
group `wirepub.formats`: name = "module:Class"), its template in templates/ and its schema in schemas/.
The CLI's choices, the configuration's check of format names, the starter configuration and the format
detection of `wirepub validate` all read this registry. Nothing here knows partners, configuration or
transports.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from io import BytesIO
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from lxml import etree

from wirepub.channel import Channel, Provider
from wirepub.errors import ConfigError
from wirepub.story import Story
from wirepub.vocabulary import FormatKind

ENTRY_POINT_GROUP = "wirepub.formats"
# What a partner that names no formats takes: what wirepub always sent, so an upgrade never starts sending a
# partner formats it did not ask for.
DEFAULT_FORMATS = ("newsml-g2", "rss", "jsonfeed")
BUILT_IN = {
    "newsml-g2": "wirepub.formats.newsmlg2:NewsMLG2",
    "ninjs": "wirepub.formats.ninjs:Ninjs",
    "rss": "wirepub.formats.rss:RSS",
    "atom": "wirepub.formats.atom:Atom",
    "jsonfeed": "wirepub.formats.jsonfeed:JSONFeed",
    "news-sitemap": "wirepub.formats.newssitemap:NewsSitemap",
}


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What a renderer may know besides the stories: who publishes, the (partner's) channel, and the partner's
    choices for this format, as plain values (never the partner or its configuration)."""

    provider: Provider
    channel: Channel               # the partner's channel for this format: its overrides already applied
    templates: Mapping[str, Path] = field(default_factory=dict)  # a partner's own templates, by name
    feed_path: str = ""            # where a feed document lives below its destination (for its self link)
    profile: str | None = None     # a partner's dialect of the format (formats.profiles): smartnews, msn...
    field_map: Mapping[str, Any] = field(default_factory=dict)   # JSON formats: the partner's field map
    options: Mapping[str, Any] = field(default_factory=dict)     # the format's own options (ninjs_version)
    now: datetime | None = None    # the time of rendering (news sitemaps keep two days; kill notices' dates)
    media: Mapping[str, str] = field(default_factory=dict)       # a local picture's sha256 -> its path below
                                                                 # the destination (content-addressed)

    @property
    def self_url(self) -> str:
        """Where this copy of a feed lives: the channel's self URL, else its public URL plus the feed's path."""
        return self.channel.self_url or self.channel.public_url + self.feed_path

    def media_url(self, url: str, sha256: str | None) -> str:
        """A picture's address for this partner: a local file delivered content-addressed lives below the
        channel's public URL."""
        path = self.media.get(sha256 or "")
        return self.channel.public_url + path if path else url


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What `wirepub validate` knows of a document before choosing its format."""

    head: bytes              # the first 4 KiB, leading white space removed
    root: str | None         # an XML document's root element in Clark notation ({ns}local), else None


@runtime_checkable
class Format(Protocol):
    name: str
    kind: FormatKind
    media_type: str
    extension: str
    schema: str | Path             # our profile of the format: a file name in schemas/, or a plugin's own path
    template: str | None           # its template in templates/ (a partner may have its own copy); None: built as data

    def sniff(self, doc: Sniffed) -> bool:
        """Is this document one of this format's?"""
        ...


class ItemFormat(Format, Protocol):
    def render(self, story: Story, ctx: RenderContext) -> bytes: ...


class FeedFormat(Format, Protocol):
    def render(self, stories: Sequence[Story], ctx: RenderContext) -> bytes: ...


class Registry:
    """Format name -> format object: the built-ins, then the entry points' (loaded once, when first asked)."""

    def __init__(self) -> None:
        self._formats: dict[str, Format] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Format]:
        with self._lock:
            if self._formats is None:
                targets = dict(BUILT_IN)
                for ep in entry_points(group=ENTRY_POINT_GROUP):
                    targets.setdefault(ep.name, ep.value)
                self._formats = {name: _instantiate(name, target) for name, target in targets.items()}
            return self._formats

    def reload(self) -> None:
        """Look at the entry points again (a plugin installed while running; tests)."""
        with self._lock:
            self._formats = None

    def names(self, kind: FormatKind | None = None) -> tuple[str, ...]:
        return tuple(n for n, f in self._load().items() if kind is None or f.kind == kind)

    def templated(self) -> tuple[str, ...]:
        """The formats rendered from a template, which a partner may replace with its own copy."""
        return tuple(n for n, f in self._load().items() if f.template is not None)

    def get(self, name: str) -> Format:
        formats = self._load()
        try:
            return formats[name]
        except KeyError:
            raise ConfigError(f"unknown format {name!r}; wirepub knows {', '.join(formats)}") from None

    def detect(self, data: bytes) -> Format | None:
        """Which format a document is, from its content; None if it is none of them."""
        doc = Sniffed(data.lstrip()[:4096], _xml_root(data))
        return next((f for f in self._load().values() if f.sniff(doc)), None)


def _instantiate(name: str, target: str) -> Format:
    module_name, _, class_name = target.partition(":")
    try:
        made = getattr(importlib.import_module(module_name), class_name)()
    except (ImportError, AttributeError, TypeError) as exc:
        raise ConfigError(f"format {name!r} ({target}) cannot be loaded: {exc}") from None
    if not isinstance(made, Format) or made.name != name:
        raise ConfigError(f"format {name!r} ({target}) is not a wirepub format (name, kind, media_type, extension, "
                          "schema, sniff, render) registered under its own name")
    return made


def _xml_root(data: bytes) -> str | None:
    if not data.lstrip().startswith(b"<"):
        return None
    try:
        _, element = next(etree.iterparse(BytesIO(data), events=("start",), resolve_entities=False, no_network=True))
    except (etree.XMLSyntaxError, StopIteration):
        return None
    return str(element.tag)


registry = Registry()


def get_format(name: str) -> Format:
    return registry.get(name)
