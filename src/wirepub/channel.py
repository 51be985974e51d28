"""Who publishes and what its channel says about itself: the settings every renderer may read.

Plain values (wirepub.toml's [provider] and [channel] tables), kept apart from config.py so that formats
depend on these and on nothing of configuration, partners or transports.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Provider:
    id: str = "wirepub.example"
    name: str = "wirepub"
    url: str = "https://wirepub.example/"
    copyright_holder: str | None = None
    copyright_notice: str | None = None
    usage_terms: str | None = None

    def guid(self, story_id: str) -> str:
        return f"urn:newsml:{self.id}:{story_id}"


@dataclass(frozen=True, slots=True)
class Channel:
    title: str = "wirepub wire"
    description: str = "Latest stories"
    link: str = "https://wirepub.example/"
    language: str = "en"
    max_items: int = 50
    public_url: str = "https://wirepub.example/wire/"
    item_url: str | None = None
    self_url: str | None = None        # the feed's own address, when it is not public_url + its path
    logo: str | None = None            # the channel's logo (RSS image, Atom logo, SmartNews snf:logo)
    hubs: tuple[str, ...] = ()         # WebSub hubs the feed names (link rel="hub")
    publication: str | None = None     # the publication's name as Google News shows it (news sitemaps)
    ttl: int | None = None             # minutes a reader may cache the feed (RSS ttl)
