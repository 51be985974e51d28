"""What every feed format shows of one story, prepared once (RSS, Atom, JSON Feed share it), so that each
format only arranges it and templates stay dumb.

- An updated story keeps its id; its item carries the first publication and the latest version's time
  (RSS pubDate and dcterms:modified, Atom published and updated, JSON Feed date_published and date_modified).
  A story that was embargoed was public only from its embargo time: that is its date, not version_created.
- A killed story that a feed still holds (on_kill_feed = "notice") is its kill notice under the same id:
  the title says so, the text is the notice, the story's own text and pictures do not travel on.
- Text is plain here; each format escapes it once, where it puts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wirepub.formats import RenderContext
from wirepub.formats.templates import KILL_NOTICE, item_url, kill_headline, kill_notice, released_at
from wirepub.story import Media, Story

MEDIATOPIC = "http://cv.iptc.org/newscodes/mediatopic/"
KILLED_PREFIX = "WITHDRAWN: "


@dataclass(frozen=True, slots=True)
class Picture:
    """A picture as a partner sees it: its address for this partner, and what the story says of it."""

    url: str
    type: str | None
    size: int | None
    width: int | None
    height: int | None
    caption: str | None
    credit: str | None
    alt: str | None
    thumbnail_url: str | None
    thumbnail_width: int | None
    thumbnail_height: int | None

    @classmethod
    def of(cls, m: Media, ctx: RenderContext) -> Picture:
        thumb = m.thumbnail()
        return cls(ctx.media_url(m.url, m.sha256), m.type, m.size, m.width, m.height, m.caption, m.credit, m.alt,
                   thumb.url if thumb else None, thumb.width if thumb else None, thumb.height if thumb else None)


@dataclass(frozen=True, slots=True)
class FeedItem:
    id: str                       # the story's URN: the same for every version
    title: str
    link: str | None
    summary: str                  # plain text
    body_xhtml: str               # sanitised XHTML fragment
    creator: str | None
    categories: tuple[tuple[str, str | None], ...]   # (name, taxonomy URI)
    keywords: tuple[str, ...]
    published: datetime           # when the story was first public
    updated: datetime             # when this version was
    modified: bool                # a later version than the first (an update, a correction or a kill)
    killed: bool
    language: str
    pictures: tuple[Picture, ...]
    story: Story

    @property
    def enclosure(self) -> Picture | None:
        """RSS allows one enclosure, and it must say its length in bytes."""
        return next((p for p in self.pictures if p.size is not None and p.type), None)


def first_public(story: Story) -> datetime:
    """When the story was first public: first_created, or its embargo if that was later."""
    return max(story.first_created, story.embargo) if story.embargo else story.first_created


def feed_item(s: Story, ctx: RenderContext) -> FeedItem:
    guid = ctx.provider.guid(s.id)
    updated = released_at(s)
    published = min(first_public(s), updated)
    if s.withdrawn:
        notice = kill_notice(s, ctx.templates.get(KILL_NOTICE))
        return FeedItem(guid, KILLED_PREFIX + kill_headline(s), item_url(s, ctx.channel.item_url), notice,
                        f"<p>{_xml_text(notice)}</p>", None, (), (), published, updated, True, True, s.language, (), s)
    return FeedItem(
        id=guid,
        title=s.headline,
        link=item_url(s, ctx.channel.item_url),
        summary=s.teaser,
        body_xhtml=s.body_xhtml,
        creator=s.byline or ", ".join(a.name for a in s.authors) or None,
        categories=tuple((sub.name, MEDIATOPIC if sub.code and sub.code.startswith("medtop:") else None)
                         for sub in s.subjects),
        keywords=s.keywords,
        published=published,
        updated=updated,
        modified=s.version > 1,
        killed=False,
        language=s.language,
        pictures=tuple(Picture.of(m, ctx) for m in s.media if m.is_image),
        story=s,
    )


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
