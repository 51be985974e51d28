"""wire-brief: a short XML item format of a partner's own, with its template and schema in this package."""

from __future__ import annotations

from pathlib import Path

from wirepub.formats import RenderContext, Sniffed
from wirepub.formats.templates import render_template, rfc3339, template
from wirepub.story import Story
from wirepub.vocabulary import FormatKind

HERE = Path(__file__).resolve().parent
NAMESPACE = "urn:example:wire-brief"


class WireBrief:
    name = "wire-brief"
    kind = FormatKind.ITEM
    media_type = "application/xml"
    extension = "brief.xml"
    schema = HERE / "brief.xsd"
    template = "brief.xml.j2"

    def sniff(self, doc: Sniffed) -> bool:
        return doc.root == f"{{{NAMESPACE}}}brief"

    def render(self, story: Story, ctx: RenderContext) -> bytes:
        tpl = template(self.template, ctx.templates.get(self.name) or HERE / self.template)
        return render_template(tpl, story=story, guid=ctx.provider.guid(story.id),
                               updated=rfc3339(story.version_created))
