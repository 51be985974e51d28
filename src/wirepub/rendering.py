"""From a story (or a feed's stories) and a partner to validated bytes: the format's renderer with the
partner's channel, templates, profile and field map, then the schemas, then the partner profile's rules. A
document that fails raises; nothing invalid gets further.

A partner profile's rules (formats.profiles) are checked on every feed document before it goes: a story that
breaks an item rule is left out of that partner's feed and returned as Held (the caller records it, so that
status, page and log name the rule); the feed is rendered again without it.

Each copy of a feed names itself where it lives (rel="self"): destinations that say their own public_url get
their own copy, rendered for that address.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import cast

from wirepub.channel import Channel, Provider
from wirepub.errors import RenderError
from wirepub.formats import FeedFormat, Format, ItemFormat, RenderContext
from wirepub.formats.profiles import Violation, get_profile, split
from wirepub.partners import Partner
from wirepub.store import NewDelivery
from wirepub.story import Story
from wirepub.transports import Destination
from wirepub.urls import shown
from wirepub.validate import Validator
from wirepub.vocabulary import DeliveryKind, FormatKind

MAX_PROFILE_PASSES = 5   # renders of one feed while stories breaking the profile's rules are taken out


@dataclass(frozen=True, slots=True)
class Document:
    partner: str
    format: str
    path: str
    data: bytes
    media_type: str
    story_id: str | None = None
    version: int | None = None
    destinations: tuple[Destination, ...] | None = None   # None: every destination of the partner
    self_url: str | None = None     # a feed copy: where it says it lives (its WebSub topic)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True, slots=True)
class Held:
    """A story held back from one partner's format by a rule of its profile."""

    partner: str
    format: str
    story_id: str
    version: int
    rule: str
    message: str


@dataclass
class FeedResult:
    documents: list[Document] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)


class Renderer:
    def __init__(self, provider: Provider, channel: Channel, validator: Validator) -> None:
        self.provider = provider
        self.channel = channel
        self.validator = validator

    def context(self, partner: Partner, fmt: Format, stories: Sequence[Story] = (), *, feed_path: str = "",
                public_url: str | None = None, now: datetime | None = None) -> RenderContext:
        channel = partner.channel_for(fmt.name, self.channel)
        if public_url is not None:
            channel = replace(channel, public_url=public_url, self_url=None)
        profile = partner.profile if partner.profile and get_profile(partner.profile).format == fmt.name else None
        media = {m.sha256: partner.paths.media_path(m.sha256, m.extension)
                 for s in stories for m in s.media if m.sha256}
        return RenderContext(self.provider, channel, templates=partner.templates, feed_path=feed_path,
                             profile=profile, field_map=partner.field_maps.get(fmt.name, {}),
                             options={"ninjs_version": partner.ninjs_version, "packages": partner.newsml_packages},
                             now=now, media=media)

    def item(self, partner: Partner, fmt: ItemFormat, story: Story, now: datetime | None = None) -> Document:
        """The item document (for the partner's first public address, when its destinations say theirs)."""
        return self.items(partner, fmt, story, now)[0]

    def items(self, partner: Partner, fmt: ItemFormat, story: Story, now: datetime | None = None) -> list[Document]:
        """The item document, once per public address the partner's destinations are read at (a local picture
        is linked where that copy of it lives)."""
        groups = _by_public_url(partner)
        path = partner.paths.item_path(story, fmt.name, fmt.extension)
        out = []
        stem, dot, ext = path.rpartition(".")
        for public_url, dests in groups.items():
            ctx = self.context(partner, fmt, [story], public_url=public_url, now=now)
            where = tuple(dests) if len(groups) > 1 else None
            data = fmt.render(story, ctx)
            self.validator.check(data, fmt, story=f"{story.id} v{story.version}")
            out.append(Document(partner.name, fmt.name, path, data, fmt.media_type, story.id, story.version,
                                destinations=where))
            # A format's companion documents (NewsML-G2 picture items and their package), beside the item.
            companions = getattr(fmt, "companions", None)
            for suffix, extra in companions(story, ctx) if companions is not None else ():
                self.validator.check(extra, fmt, story=f"{story.id} v{story.version} ({suffix.lstrip('-')})")
                out.append(Document(partner.name, fmt.name, f"{stem}{suffix}{dot}{ext}" if dot else path + suffix,
                                    extra, fmt.media_type, story.id, story.version, destinations=where))
            if story.withdrawn or not any(m.sha256 for m in story.media):
                # Nothing in an item depends on where it lives but its local pictures: one copy serves all.
                return [replace(d, destinations=None) for d in out]
        return out

    def feed(self, partner: Partner, fmt: FeedFormat, stories: Sequence[Story],
             now: datetime | None = None) -> FeedResult:
        """Every copy of one feed of a partner (one per public address its destinations are read at), and the
        stories its profile held back."""
        path = partner.paths.feed_path(fmt.name, fmt.extension)
        groups = _by_public_url(partner)
        result = FeedResult()
        chosen = list(stories)
        for public_url, dests in groups.items():
            ctx = self.context(partner, fmt, chosen, feed_path=path, public_url=public_url, now=now)
            chosen, held = self._profiled(partner, fmt, chosen, ctx)
            result.held = held
            where = tuple(dests) if len(groups) > 1 else None
            result.documents += [replace(d, destinations=where) for d in self._pages(partner, fmt, chosen, ctx, path)]
        return result

    def _pages(self, partner: Partner, fmt: FeedFormat, stories: list[Story], ctx: RenderContext,
               path: str) -> list[Document]:
        """One document, or (a format with pages: the news sitemap) its pages and an index at the feed's path."""
        pages_of = getattr(fmt, "pages", None)
        pages = pages_of(stories, ctx) if pages_of is not None else [stories]
        if len(pages) <= 1:
            data = fmt.render(pages[0] if pages else [], ctx)
            self.validator.check(data, fmt, story=f"(feed of {len(stories)})")
            return [Document(partner.name, fmt.name, path, data, fmt.media_type, self_url=ctx.self_url)]
        stem, dot, ext = path.rpartition(".")
        out = []
        for n, page in enumerate(pages, 1):
            page_path = f"{stem}-{n}{dot}{ext}" if dot else f"{path}-{n}"
            data = fmt.render(page, replace(ctx, feed_path=page_path))
            self.validator.check(data, fmt, story=f"(feed page {n} of {len(pages)})")
            out.append(Document(partner.name, fmt.name, page_path, data, fmt.media_type))
        index = fmt.render_index([ctx.channel.public_url + d.path for d in out], ctx)  # type: ignore[attr-defined]
        self.validator.check(index, fmt, story="(sitemap index)")
        return [*out, Document(partner.name, fmt.name, path, index, fmt.media_type, self_url=ctx.self_url)]

    def _profiled(self, partner: Partner, fmt: FeedFormat, stories: list[Story],
                  ctx: RenderContext) -> tuple[list[Story], list[Held]]:
        """The stories that keep the profile's rules, and those held back (rule named)."""
        if ctx.profile is None:
            return stories, []
        profile = get_profile(ctx.profile)
        held: list[Held] = []
        for _ in range(MAX_PROFILE_PASSES):
            data = fmt.render(stories, ctx)
            self.validator.check(data, fmt, story=f"(feed of {len(stories)})")
            violations = profile.check(data, ctx.now or _latest(stories))
            items, fatal, trims = split(violations, profile)
            if fatal:
                v = fatal[0]
                raise RenderError(f"partner {partner.name}: {fmt.name} breaks {v.rule} ({profile.rule(v.rule).says}): "
                                  f"{v.message}")
            if not items and not trims:
                return stories, held
            by_guid = {ctx.provider.guid(s.id): s for s in stories}
            out = {v.guid for v in items}
            held += [_held(partner, fmt, by_guid[v.guid], v) for v in _first_per_guid(items) if v.guid in by_guid]
            if trims and not items and stories:   # too big: the oldest story goes
                oldest = stories[-1]
                rule = next(v for v in violations if v.guid is None)
                held.append(_held(partner, fmt, oldest, rule))
                out.add(ctx.provider.guid(oldest.id))
            stories = [s for s in stories if ctx.provider.guid(s.id) not in out]
        raise RenderError(f"partner {partner.name}: {fmt.name} still breaks its profile {profile.name} after "
                          f"{MAX_PROFILE_PASSES} passes")

    def one(self, partner: Partner, fmt: Format, story: Story, *, validate: bool = True,
            now: datetime | None = None) -> bytes:
        """One story in one format (a feed format gives a feed of just this story): wirepub render."""
        feed_path = partner.paths.feed_path(fmt.name, fmt.extension)
        ctx = self.context(partner, fmt, [story], feed_path=feed_path, now=now)
        if fmt.kind == FormatKind.FEED:
            data = cast(FeedFormat, fmt).render([story], ctx)
        else:
            data = cast(ItemFormat, fmt).render(story, ctx)
        if validate:
            self.validator.check(data, fmt, story=story.id)
        return data


def _by_public_url(partner: Partner) -> dict[str | None, list[Destination]]:
    """The partner's destinations by the public address they are read at (None: the channel's)."""
    groups: dict[str | None, list[Destination]] = {}
    for dest in partner.destinations:
        groups.setdefault(partner.public_url_of(dest), []).append(dest)
    return groups


def _latest(stories: Sequence[Story]) -> datetime:
    from datetime import UTC

    return max((s.version_created for s in stories), default=datetime.now(UTC))


def _first_per_guid(violations: list[Violation]) -> list[Violation]:
    seen: dict[str | None, Violation] = {}
    for v in violations:
        seen.setdefault(v.guid, v)
    return list(seen.values())


def _held(partner: Partner, fmt: FeedFormat, s: Story, v: Violation) -> Held:
    return Held(partner.name, fmt.name, s.id, s.version, v.rule, v.message)


def rows(partner: Partner, doc: Document, kind: DeliveryKind, not_before: datetime | None) -> list[NewDelivery]:
    """One ledger row per destination of the partner (or of the document's own) for this document (the
    destination as urls.shown says it: a secret in a URL never reaches the ledger)."""
    return [NewDelivery(partner=partner.name, destination=shown(dest.url), path=doc.path, format=doc.format, kind=kind,
                        media_type=doc.media_type, body=doc.data, sha256=doc.sha256, story_id=doc.story_id,
                        version=doc.version, not_before=not_before)
            for dest in (doc.destinations or partner.destinations)]


