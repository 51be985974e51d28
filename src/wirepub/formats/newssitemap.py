"""Google News sitemap (`news-sitemap`, a feed format): a sitemap `urlset` with the news extension, one `url`
per article published in the last two days (older ones leave it), at most 1,000 per file; beyond that the
articles are split over several files and the feed's path holds a sitemap index naming them (Renderer.feed
asks `pages` and `render_index`). Articles without a web address (no url, no channel.item_url) cannot be in
a sitemap and are left out. Checked by our own schema of the sitemap and news extension
(schemas/news-sitemap.xsd, schemas/news-sitemap-news.xsd).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from wirepub.formats import RenderContext, Sniffed
from wirepub.formats.feeditems import first_public
from wirepub.formats.templates import item_url, render_template, rfc3339, template
from wirepub.story import Story
from wirepub.vocabulary import FormatKind

SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_WINDOW = timedelta(days=2)
PAGE_SIZE = 1_000


def news_language(language: str) -> str:
    """ISO 639 as Google News wants it: the primary code, except zh-cn and zh-tw for Chinese."""
    parts = language.lower().split("-")
    if parts[0] == "zh":
        return "zh-tw" if any(p in ("tw", "hk", "hant", "mo") for p in parts[1:]) else "zh-cn"
    return parts[0]


class NewsSitemap:
    name = "news-sitemap"
    kind = FormatKind.FEED
    media_type = "application/xml"
    extension = "xml"
    schema = "news-sitemap.xsd"
    template = "news-sitemap.xml.j2"
    index_template = "news-sitemap-index.xml.j2"
    page_size = PAGE_SIZE
    standard = "Google News sitemap"

    def sniff(self, doc: Sniffed) -> bool:
        return doc.root in (f"{{{SITEMAP}}}urlset", f"{{{SITEMAP}}}sitemapindex")

    def eligible(self, stories: Sequence[Story], ctx: RenderContext) -> list[Story]:
        """The articles a news sitemap may name now: released in the last two days, not withdrawn, with a URL."""
        return [s for s in stories if not s.withdrawn and item_url(s, ctx.channel.item_url)
                and (ctx.now is None or ctx.now - first_public(s) <= NEWS_WINDOW)]

    def pages(self, stories: Sequence[Story], ctx: RenderContext) -> list[list[Story]]:
        chosen = self.eligible(stories, ctx)
        return [chosen[i:i + self.page_size] for i in range(0, len(chosen), self.page_size)] or [[]]

    def render(self, stories: Sequence[Story], ctx: RenderContext) -> bytes:
        chosen = self.eligible(stories, ctx)[:self.page_size]
        publication = ctx.channel.publication or ctx.provider.name
        return render_template(
            template(self.template, ctx.templates.get(self.name)),
            publication=publication,
            urls=[{"loc": item_url(s, ctx.channel.item_url), "language": news_language(s.language),
                   "date": rfc3339(first_public(s)), "title": s.headline,
                   "keywords": ", ".join(s.keywords) or None} for s in chosen],
        )

    def render_index(self, locations: Sequence[str], ctx: RenderContext) -> bytes:
        return render_template(template(self.index_template), sitemaps=list(locations),
                               lastmod=rfc3339(ctx.now) if ctx.now else None)
