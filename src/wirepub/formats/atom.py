"""Atom 1.0 (RFC 4287): one feed document with the latest stories, newest first, from templates/atom-1.0.xml.j2.

Each entry's id is the story's URN (the same for every version), updated its latest version's time,
published its first publication; the body travels as content type="xhtml" (a div in the XHTML namespace,
which the sanitised body already is once given that namespace), pictures as link rel="enclosure" and
Media RSS. Checked against our profile (schemas/atom-1.0.xsd) and, where configured, RFC 4287's RELAX NG.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from wirepub import __version__
from wirepub.formats import RenderContext, Sniffed
from wirepub.formats.feeditems import FeedItem, feed_item
from wirepub.formats.templates import render_template, rfc3339, template
from wirepub.story import Story
from wirepub.vocabulary import FormatKind

XHTML = "http://www.w3.org/1999/xhtml"
ROOT = "{http://www.w3.org/2005/Atom}feed"


class Atom:
    name = "atom"
    kind = FormatKind.FEED
    media_type = "application/atom+xml"
    extension = "atom"
    schema = "atom-1.0.xsd"
    template = "atom-1.0.xml.j2"
    standard = "Atom 1.0"

    @staticmethod
    def check_standard(root: Any) -> str | None:
        """RFC 4287's own musts, briefly (the RELAX NG, where configured, says the rest): a feed has an id, a
        title and updated; so has each entry."""
        ns = "{http://www.w3.org/2005/Atom}"
        if root.tag != f"{ns}feed":
            return "not an Atom feed"
        for where, el in [("the feed", root), *((f"entry {n}", e) for n, e in enumerate(root.iter(f"{ns}entry"), 1))]:
            missing = [t for t in ("id", "title", "updated") if el.find(f"{ns}{t}") is None]
            if missing:
                return f"{where} has no {', '.join(missing)}"
        return None

    def sniff(self, doc: Sniffed) -> bool:
        return doc.root == ROOT

    def render(self, stories: Sequence[Story], ctx: RenderContext) -> bytes:
        items = [_Entry(feed_item(s, ctx)) for s in stories]
        updated = max((i.item.updated for i in items), default=ctx.now)
        return render_template(
            template(self.template, ctx.templates.get(self.name)),
            channel=ctx.channel,
            feed_id=ctx.self_url,
            updated=rfc3339(updated) if updated else "1970-01-01T00:00:00+00:00",
            provider=ctx.provider,
            rights=ctx.provider.copyright_notice,
            generator_version=__version__,
            self_url=ctx.self_url,
            hubs=ctx.channel.hubs,
            entries=items,
        )


class _Entry:
    __slots__ = ("item", "id", "title", "link", "summary", "content", "authors", "categories", "published",
                 "updated", "pictures", "language")

    def __init__(self, item: FeedItem) -> None:
        self.item = item
        self.id = item.id
        self.title = item.title
        self.link = item.link
        self.summary = item.summary
        self.content = Markup(xhtml_div(item.body_xhtml))
        self.authors = [a.name for a in item.story.authors] or ([item.creator] if item.creator else [])
        self.categories = item.categories
        self.published = rfc3339(item.published)
        self.updated = rfc3339(item.updated)
        self.pictures = item.pictures
        self.language = item.language


def xhtml_div(fragment: str) -> str:
    """The sanitised body as Atom's xhtml content wants it: one div in the XHTML namespace. The fragment is
    well-formed XML of unprefixed elements (wirepub.sanitize), so its elements take the div's default namespace
    as they stand: no parse, no re-serialisation."""
    return f'<div xmlns="{XHTML}">{fragment}</div>'
