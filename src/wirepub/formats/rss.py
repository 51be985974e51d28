"""RSS 2.0: one channel document with the latest stories, newest first, from templates/rss-2.0.xml.j2.

An item's pubDate is its latest version's time, so a corrected story moves up as one item (same guid),
never as a second one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from wirepub import __version__
from wirepub.formats import RenderContext
from wirepub.formats._common import item_url, plain_summary, render_template, rfc822, template
from wirepub.story import Story


class RSS:
    name = "rss"
    kind: Literal["feed"] = "feed"
    media_type = "application/rss+xml"
    extension = "xml"
    schema = "rss-2.0.xsd"

    def render(self, stories: Sequence[Story], ctx: RenderContext) -> bytes:
        items = [
            {
                "story": s,
                "guid": ctx.provider.guid(s.id),
                "link": item_url(s, ctx.channel.item_url),
                "summary": plain_summary(s),
                "creator": s.byline or ", ".join(a.name for a in s.authors) or None,
                "pub_date": rfc822(s.version_created),
                # RSS allows one enclosure, and it must say its length in bytes.
                "enclosure": next((m for m in s.media if m.size is not None and m.type), None),
            }
            for s in stories
        ]
        return render_template(
            template("rss-2.0.xml.j2", ctx.template),
            channel=ctx.channel,
            copyright=ctx.provider.copyright_notice,
            last_build_date=rfc822(max(s.version_created for s in stories)) if stories else None,
            generator_version=__version__,
            self_url=ctx.channel.public_url + ctx.feed_path,
            items=items,
        )
