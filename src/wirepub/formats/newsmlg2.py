"""NewsML-G2 2.35 newsItem: one document per story version, from templates/newsml-g2.xml.j2."""

from __future__ import annotations

import re

from markupsafe import Markup

from wirepub import __version__
from wirepub.formats import RenderContext, Sniffed
from wirepub.formats.templates import (
    CORRECTION,
    KILL_NOTICE,
    correction_line,
    kill_notice,
    local_dateline,
    render_template,
    rfc3339,
    template,
)
from wirepub.story import Story
from wirepub.vocabulary import FormatKind

# A genre is a qcode only when it looks like one ("genre:Current"); "Analysis: politics" is a name.
_QCODE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*:\S+")


class NewsMLG2:
    name = "newsml-g2"
    kind = FormatKind.ITEM
    media_type = "application/vnd.iptc.g2.newsitem+xml"
    extension = "xml"
    schema = "newsml-g2-profile.xsd"
    template = "newsml-g2.xml.j2"
    standard = "NewsML-G2 2.35"
    root = "{http://iptc.org/std/nar/2006-10-01/}newsItem"

    def sniff(self, doc: Sniffed) -> bool:
        return doc.root == self.root

    def render(self, story: Story, ctx: RenderContext) -> bytes:
        notes = [story.ednote] if story.ednote else []
        signals = []
        body = Markup(story.body_xhtml)  # sanitised and re-serialised as XML by wirepub.sanitize
        if story.withdrawn:
            kill = kill_notice(story, ctx.templates.get(KILL_NOTICE))
            notes.append(kill)
            body = Markup("<p>{}</p>").format(kill)  # a killed story's text must not travel on
        elif story.correction:
            signals.append("sig:correction")
            notes.append(correction_line(story, ctx.templates.get(CORRECTION)))
        elif story.version > 1:
            signals.append("sig:update")
        dl = story.dateline
        # In the story's language (Babel): "عمّان، الأردن، ٢٩ نوفمبر", "東京、11月29日", not English months.
        dateline = local_dateline(dl.place, dl.country, dl.date, story.language) if dl else None
        media = [(ctx.media_url(m.url, m.sha256), m.type, m.caption) for m in story.media]
        return render_template(
            template(self.template, ctx.templates.get(self.name)),
            story=story,
            provider=ctx.provider,
            guid=ctx.provider.guid(story.id),
            version_created=rfc3339(story.version_created),
            first_created=rfc3339(story.first_created),
            embargoed=rfc3339(story.embargo) if story.embargo else None,
            pub_status="stat:canceled" if story.withdrawn else "stat:usable",
            generator_version=__version__,
            ednotes=notes,
            signals=signals,
            rights=bool(story.copyright_holder or story.copyright_notice or story.usage_terms),
            creators=[a.name for a in story.authors] or ([story.byline] if story.byline else []),
            genre_qcode=story.genre if story.genre and _QCODE.fullmatch(story.genre) else None,
            dateline=dateline,
            media=media,
            summary=None if story.withdrawn else story.summary,
            body=body,
        )
