"""RSS 2.0: one channel document with the latest stories, newest first, from templates/rss-2.0.xml.j2, or from
a partner profile's template (formats.profiles: rss-smartnews.xml.j2...), which extends it.

An item's pubDate is its latest version's time (its release time when it was embargoed), so a corrected
story moves up as one item (same guid), never as a second one; an update also carries dcterms:modified.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from wirepub import __version__
from wirepub.formats import RenderContext, Sniffed
from wirepub.formats.feeditems import FeedItem, feed_item
from wirepub.formats.profiles import profile_template
from wirepub.formats.templates import render_template, rfc822, rfc3339, template
from wirepub.story import Story
from wirepub.vocabulary import FormatKind

ATOM_LINK = "{http://www.w3.org/2005/Atom}link"


class RSS:
    name = "rss"
    kind = FormatKind.FEED
    media_type = "application/rss+xml"
    extension = "xml"
    schema = "rss-2.0.xsd"
    template = "rss-2.0.xml.j2"
    standard = "RSS 2.0"

    def sniff(self, doc: Sniffed) -> bool:
        return doc.root == "rss"

    @staticmethod
    def check_document(root: Any) -> tuple[int, str] | None:
        """What rss-2.0.xsd cannot say: the channel's first atom:link is its own address (rel="self")."""
        first = root.find(f"channel/{ATOM_LINK}")
        if first is not None and (first.get("rel") != "self" or first.get("type") != "application/rss+xml"):
            return first.sourceline or 1, (f"the channel's first atom:link must be rel=\"self\" "
                                           f"type=\"application/rss+xml\" (found rel={first.get('rel')!r}); "
                                           "hubs follow it")
        return None

    @staticmethod
    def check_standard(root: Any) -> str | None:
        """What RSS 2.0 itself requires (no more): one channel with title, link and description; each item a
        title or a description."""
        if root.tag != "rss" or root.get("version") not in ("2.0", "2.0.1"):
            return "not an RSS 2.0 document (rss version=\"2.0\")"
        channel = root.find("channel")
        if channel is None:
            return "no channel"
        missing = [t for t in ("title", "link", "description") if channel.find(t) is None]
        if missing:
            return f"the channel has no {', '.join(missing)}"
        for n, item in enumerate(channel.iter("item"), 1):
            if item.find("title") is None and item.find("description") is None:
                return f"item {n} has neither title nor description"
        return None

    def render(self, stories: Sequence[Story], ctx: RenderContext) -> bytes:
        items = [_Item(feed_item(s, ctx)) for s in stories]
        return render_template(
            template(profile_template(self.name, self.template, ctx.profile), ctx.templates.get(self.name)),
            channel=ctx.channel,
            copyright=ctx.provider.copyright_notice,
            last_build_date=rfc822(max(i.item.updated for i in items)) if items else None,
            generator_version=__version__,
            self_url=ctx.self_url,
            hubs=ctx.channel.hubs,
            items=items,
        )


class _Item:
    """What the template shows of one story, prepared here so that the template only prints."""

    __slots__ = ("item", "title", "link", "summary", "body", "creator", "categories", "enclosure", "guid",
                 "pub_date", "modified", "pictures", "main_picture", "killed")

    def __init__(self, item: FeedItem) -> None:
        self.item = item
        self.title = item.title
        self.link = item.link
        # description is HTML in RSS: our plain-text summary is HTML-escaped here, and the template escapes the
        # result once more as XML text, which is exactly what a reader undoes ("<b>" stays text, "'" stays "'").
        self.summary = html.escape(item.summary, quote=False)
        self.body = item.body_xhtml            # escaped by the template: content:encoded holds HTML as text
        self.creator = item.creator
        self.categories = item.categories
        self.enclosure = item.enclosure
        self.guid = item.id
        self.pub_date = rfc822(item.updated)
        self.modified = rfc3339(item.updated) if item.modified else None
        self.pictures = item.pictures
        self.main_picture = item.pictures[0] if item.pictures else None
        self.killed = item.killed
