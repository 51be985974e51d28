"""JSON Feed 1.1: the same channel as RSS, built as data and serialised (never templated)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from wirepub.formats import RenderContext, Sniffed
from wirepub.formats.templates import item_url, rfc3339
from wirepub.story import Story
from wirepub.vocabulary import FormatKind

VERSION = "https://jsonfeed.org/version/1.1"


class JSONFeed:
    name = "jsonfeed"
    kind = FormatKind.FEED
    media_type = "application/feed+json"
    extension = "json"
    schema = "jsonfeed-1.1.schema.json"
    template = None   # JSON is built as data and serialised, never templated

    def sniff(self, doc: Sniffed) -> bool:
        return doc.head.startswith(b"{") and b"jsonfeed.org/version/" in doc.head

    def render(self, stories: Sequence[Story], ctx: RenderContext) -> bytes:
        feed: dict[str, Any] = {
            "version": VERSION,
            "title": ctx.channel.title,
            "home_page_url": ctx.channel.link,
            "feed_url": ctx.channel.public_url + ctx.feed_path,
            "description": ctx.channel.description,
            "language": ctx.channel.language,
            "authors": [{"name": ctx.provider.name, "url": ctx.provider.url}],
            "items": [self._item(s, ctx) for s in stories],
        }
        # Indented, so that a schema error can name its line; partners' parsers do not care.
        return json.dumps(feed, ensure_ascii=False, indent=2).encode("utf-8")

    @staticmethod
    def _item(s: Story, ctx: RenderContext) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": ctx.provider.guid(s.id),
            "url": item_url(s, ctx.channel.item_url),
            "title": s.headline,
            "content_html": s.body_xhtml,
            "summary": s.teaser,
            "date_published": rfc3339(s.first_created),
            "date_modified": rfc3339(s.version_created),
            "authors": [{"name": a.name, **({"url": a.url} if a.url else {})} for a in s.authors]
            or ([{"name": s.byline}] if s.byline else None),
            "tags": [sub.name for sub in s.subjects] + list(s.keywords) or None,
            "language": s.language,
            "image": next((m.url for m in s.media if (m.type or "image/").startswith("image/")), None),
            "attachments": [
                {"url": m.url, "mime_type": m.type, **({"size_in_bytes": m.size} if m.size else {})}
                for m in s.media if m.type
            ] or None,
        }
        return {k: v for k, v in item.items() if v is not None}
