"""Formats: a renderer plus its schema, media type and file extension.

Two shapes (DESIGN.md): an *item format* renders one document per story version; a *feed format*
renders one document per channel from the latest stories it is given (chosen and ordered by the caller).
Rendering is pure: stories and context in, bytes out. Adding a format touches no transport.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from wirepub.config import Channel, Provider
from wirepub.errors import ConfigError
from wirepub.story import Story


@dataclass(frozen=True, slots=True)
class RenderContext:
    provider: Provider
    channel: Channel
    template: Path | None = None   # a partner's own copy of the format's template
    feed_path: str = ""            # where a feed document lives below its destination (for its self link)


class ItemFormat(Protocol):
    name: str
    kind: Literal["item"]
    media_type: str
    extension: str
    schema: str                    # file name in schemas/

    def render(self, story: Story, ctx: RenderContext) -> bytes: ...


class FeedFormat(Protocol):
    name: str
    kind: Literal["feed"]
    media_type: str
    extension: str
    schema: str

    def render(self, stories: Sequence[Story], ctx: RenderContext) -> bytes: ...


Format = ItemFormat | FeedFormat


def get_format(name: str) -> Format:
    from wirepub.formats.jsonfeed import JSONFeed
    from wirepub.formats.newsmlg2 import NewsMLG2
    from wirepub.formats.rss import RSS

    formats: dict[str, Format] = {"newsml-g2": NewsMLG2(), "rss": RSS(), "jsonfeed": JSONFeed()}
    try:
        return formats[name]
    except KeyError:
        raise ConfigError(f"unknown format {name!r}; wirepub knows {', '.join(formats)}") from None
