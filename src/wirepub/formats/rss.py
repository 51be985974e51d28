"""RSS 2.0: one channel document with the latest stories, newest first, from templates/rss-2.0.xml.j2.

An item's pubDate is its latest version's time, so a corrected story moves up as one item (same guid),
never as a second one.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from wirepub import __version__
from wirepub.formats import RenderContext, Sniffed
from wirepub.formats.templates import item_url, render_template, rfc822, template
from wirepub.story import Story
from wirepub.vocabulary import FormatKind

MEDIATOPIC = "http://cv.iptc.org/newscodes/mediatopic/"


class RSS:
    name = "rss"
    kind = FormatKind.FEED
    media_type = "application/rss+xml"
    extension = "xml"
    schema = "rss-2.0.xsd"
    template = "rss-2.0.xml.j2"

    def sniff(self, doc: Sniffed) -> bool:
        return doc.root == "rss"

    def render(self, stories: Sequence[Story], ctx: RenderContext) -> bytes:
        return render_template(
            template(self.template, ctx.templates.get(self.name)),
            channel=ctx.channel,
            copyright=ctx.provider.copyright_notice,
            last_build_date=rfc822(max(s.version_created for s in stories)) if stories else None,
            generator_version=__version__,
            self_url=ctx.channel.public_url + ctx.feed_path,
            items=[_Item(s, ctx) for s in stories],
        )


class _Item:
    """What the template shows of one story, prepared here so that the template only prints."""

    __slots__ = ("title", "link", "summary", "body", "creator", "categories", "enclosure", "guid", "pub_date")

    def __init__(self, s: Story, ctx: RenderContext) -> None:
        self.title = s.headline
        self.link = item_url(s, ctx.channel.item_url)
        # description is HTML in RSS: our plain-text summary is HTML-escaped so "<b>" in it stays text.
        self.summary = html.escape(s.teaser, quote=False)
        self.body = s.body_xhtml            # escaped by the template: content:encoded holds HTML as text
        self.creator = s.byline or ", ".join(a.name for a in s.authors) or None
        self.categories = [(sub.name, MEDIATOPIC if sub.code and sub.code.startswith("medtop:") else None)
                           for sub in s.subjects]
        # RSS allows one enclosure, and it must say its length in bytes.
        self.enclosure = next((m for m in s.media if m.size is not None and m.type), None)
        self.guid = ctx.provider.guid(s.id)
        self.pub_date = rfc822(s.version_created)
