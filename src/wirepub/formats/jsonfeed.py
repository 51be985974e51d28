"""JSON Feed 1.1: the same channel as RSS, built as data and serialised (never templated); a partner reshapes
it with a field map (formats.fieldmap: `feed` and `item` levels)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wirepub.formats import RenderContext, Sniffed
from wirepub.formats.feeditems import FeedItem, feed_item
from wirepub.formats.fieldmap import apply_map
from wirepub.formats.jsondoc import dumps
from wirepub.formats.templates import rfc3339
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
    standard = "JSON Feed 1.1"

    @staticmethod
    def check_standard(doc: Any) -> str | None:
        """What JSON Feed 1.1 itself requires: version, title, items; each item an id and content."""
        if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/"):
            return "no JSON Feed version"
        if not isinstance(doc.get("title"), str) or not isinstance(doc.get("items"), list):
            return "a JSON Feed needs a title and items"
        for n, item in enumerate(doc["items"], 1):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str | int):
                return f"item {n} has no id"
            if not ("content_html" in item or "content_text" in item):
                return f"item {n} has neither content_html nor content_text"
        return None

    def sniff(self, doc: Sniffed) -> bool:
        return doc.head.startswith(b"{") and b"jsonfeed.org/version/" in doc.head

    def render(self, stories: Sequence[Story], ctx: RenderContext) -> bytes:
        item_map = ctx.field_map.get("item", {})
        feed: dict[str, Any] = {
            "version": VERSION,
            "title": ctx.channel.title,
            "home_page_url": ctx.channel.link,
            "feed_url": ctx.self_url,
            "description": ctx.channel.description,
            "icon": ctx.channel.logo,
            "language": ctx.channel.language,
            "authors": [{"name": ctx.provider.name, "url": ctx.provider.url}],
            "hubs": [{"type": "WebSub", "url": hub} for hub in ctx.channel.hubs] or None,
            "items": [apply_map(self._item(feed_item(s, ctx)), item_map, s, ctx.provider.guid(s.id))
                      for s in stories],
        }
        feed = apply_map({k: v for k, v in feed.items() if v is not None}, ctx.field_map.get("feed", {}), None)
        # Indented, so that a schema error can name its line; partners' parsers do not care.
        return dumps(feed)

    @staticmethod
    def _item(i: FeedItem) -> dict[str, Any]:
        s = i.story
        main = i.pictures[0] if i.pictures else None
        item: dict[str, Any] = {
            "id": i.id,
            "url": i.link,
            "title": i.title,
            "content_html": i.body_xhtml,
            "summary": i.summary,
            "image": main.url if main else None,
            "date_published": rfc3339(i.published),
            "date_modified": rfc3339(i.updated),
            "authors": None if i.killed else (
                [{"name": a.name, **({"url": a.url} if a.url else {})} for a in s.authors]
                or ([{"name": s.byline}] if s.byline else None)),
            "tags": [name for name, _ in i.categories] + list(i.keywords) or None,
            "language": i.language,
            "attachments": [
                {"url": p.url, "mime_type": p.type, **({"size_in_bytes": p.size} if p.size else {}),
                 **({"title": p.caption} if p.caption else {})}
                for p in i.pictures if p.type
            ] or None,
        }
        return {k: v for k, v in item.items() if v is not None}
