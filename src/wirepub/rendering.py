"""From a story (or a feed's stories) and a partner to validated bytes: the format's renderer with the
partner's templates, then the schemas. A document that fails raises; nothing invalid gets further."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from wirepub.channel import Channel, Provider
from wirepub.formats import FeedFormat, Format, ItemFormat, RenderContext
from wirepub.partners import Partner
from wirepub.store import NewDelivery
from wirepub.story import Story
from wirepub.urls import shown
from wirepub.validate import Validator
from wirepub.vocabulary import DeliveryKind, FormatKind


@dataclass(frozen=True, slots=True)
class Document:
    partner: str
    format: str
    path: str
    data: bytes
    media_type: str
    story_id: str | None = None
    version: int | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class Renderer:
    def __init__(self, provider: Provider, channel: Channel, validator: Validator) -> None:
        self.provider = provider
        self.channel = channel
        self.validator = validator

    def context(self, partner: Partner, feed_path: str = "") -> RenderContext:
        return RenderContext(self.provider, self.channel, templates=partner.templates, feed_path=feed_path)

    def item(self, partner: Partner, fmt: ItemFormat, story: Story) -> Document:
        data = fmt.render(story, self.context(partner))
        self.validator.check(data, fmt, story=f"{story.id} v{story.version}")
        path = partner.paths.item_path(story, fmt.name, fmt.extension)
        return Document(partner.name, fmt.name, path, data, fmt.media_type, story.id, story.version)

    def feed(self, partner: Partner, fmt: FeedFormat, stories: Sequence[Story]) -> Document:
        path = partner.paths.feed_path(fmt.name, fmt.extension)
        data = fmt.render(stories, self.context(partner, feed_path=path))
        self.validator.check(data, fmt, story=f"(feed of {len(stories)})")
        return Document(partner.name, fmt.name, path, data, fmt.media_type)

    def one(self, partner: Partner, fmt: Format, story: Story, *, validate: bool = True) -> bytes:
        """One story in one format (a feed format gives a feed of just this story): wirepub render."""
        feed_path = partner.paths.feed_path(fmt.name, fmt.extension)
        ctx = self.context(partner, feed_path=feed_path)
        if fmt.kind == FormatKind.FEED:
            data = cast(FeedFormat, fmt).render([story], ctx)
        else:
            data = cast(ItemFormat, fmt).render(story, ctx)
        if validate:
            self.validator.check(data, fmt, story=story.id)
        return data


def rows(partner: Partner, doc: Document, kind: DeliveryKind, not_before: datetime | None) -> list[NewDelivery]:
    """One ledger row per destination of the partner for this document (the destination as urls.shown says
    it: a secret in a URL never reaches the ledger)."""
    return [NewDelivery(partner=partner.name, destination=shown(dest.url), path=doc.path, format=doc.format, kind=kind,
                        media_type=doc.media_type, body=doc.data, sha256=doc.sha256, story_id=doc.story_id,
                        version=doc.version, not_before=not_before)
            for dest in partner.destinations]

