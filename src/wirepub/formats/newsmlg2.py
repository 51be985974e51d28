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
    package_root = "{http://iptc.org/std/nar/2006-10-01/}packageItem"
    picture_template = "newsml-g2-picture.xml.j2"
    package_template = "newsml-g2-package.xml.j2"

    def sniff(self, doc: Sniffed) -> bool:
        return doc.root in (self.root, self.package_root)

    def companions(self, story: Story, ctx: RenderContext) -> list[tuple[str, bytes]]:
        """For a partner that asks for packages (options["packages"]): a picture item per picture and a
        packageItem grouping them with the text item, as (path suffix, document). Nothing for a kill."""
        pictures = [m for m in story.media if m.is_image]
        if not ctx.options.get("packages") or story.withdrawn or not pictures:
            return []
        guid = ctx.provider.guid(story.id)
        common = {"provider": ctx.provider, "version": story.version, "language": story.language,
                  "version_created": rfc3339(story.version_created), "first_created": rfc3339(story.first_created),
                  "generator_version": __version__}
        out: list[tuple[str, bytes]] = []
        refs = [{"guid": guid, "item_class": "ninat:text", "title": story.headline}]
        for n, m in enumerate(pictures, 1):
            picture_guid = f"{guid}.picture-{n}"
            renditions = [{"rendition": "rnd:highRes", "href": ctx.media_url(m.url, m.sha256), "type": m.type,
                           "size": m.size, "width": m.width, "height": m.height}]
            renditions += [{"rendition": f"rnd:{r.name or f'rendition{i}'}", "href": r.url, "type": r.type,
                            "size": r.size, "width": r.width, "height": r.height}
                           for i, r in enumerate(m.renditions, 1)]
            out.append((f"-picture-{n}", render_template(
                template(self.picture_template), guid=picture_guid, headline=m.caption or story.headline,
                caption=m.caption, credit=m.credit, alt=m.alt, renditions=renditions, **common)))
            refs.append({"guid": picture_guid, "item_class": "ninat:picture", "title": m.caption or f"Picture {n}"})
        out.append(("-package", render_template(template(self.package_template), guid=f"{guid}.package", refs=refs,
                                                 **common)))
        return out

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
