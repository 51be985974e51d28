"""Partner profiles: a partner's dialect of a format (SmartNews' SmartFormat, MSN, Flipboard), each a template
(templates/rss-<profile>.xml.j2, extending the format's own) plus rules checked on every document before it
goes (the facts are in ../shared/standards/partners/PROFILES.md, from each partner's published guidance).

A rule looks at the rendered document, not at the story: a partner's own template is held to it too.
- An item rule names the item (its guid) that breaks it: that story is held back for this partner only,
  the feed is rendered again without it, and the rule is recorded (status, page, log).
- A document rule says what is wrong with the feed as a whole. SmartNews' 1 MB limit is met by leaving out
  the oldest items (each held back, naming the rule); any other document rule fails that partner's feed,
  naming the rule: a channel setting must change.
Nothing here knows partners or configuration: the profile's name comes in the RenderContext.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from wirepub.errors import ConfigError

CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
MEDIA = "{http://search.yahoo.com/mrss/}"
SNF = "http://www.smartnews.be/snf"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
_TAG = re.compile(r"<\s*/?\s*[A-Za-z][^>]*>")


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str               # e.g. "msn.title-length"
    message: str            # what is wrong, in the partner's terms
    guid: str | None = None  # the item that breaks it; None: the document as a whole


@dataclass(frozen=True, slots=True)
class Facts:
    """What rules look at: the parsed document and the time (for dates)."""

    root: etree._Element
    size: int
    now: datetime


ItemCheck = Callable[[etree._Element, Facts], str | None]
DocCheck = Callable[[Facts], str | None]


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    says: str                              # the partner's rule, in a sentence (docs, messages)
    item: ItemCheck | None = None
    document: DocCheck | None = None
    trims: bool = False                    # a document rule met by leaving out the oldest items


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    format: str
    template: str
    rules: tuple[Rule, ...] = field(default=())

    def check(self, data: bytes, now: datetime) -> list[Violation]:
        root = etree.fromstring(data, _PARSER)
        facts = Facts(root, len(data), now)
        out: list[Violation] = []
        for rule in self.rules:
            if rule.document is not None:
                why = rule.document(facts)
                if why:
                    out.append(Violation(rule.name, why))
            if rule.item is not None:
                for item in root.iter("item"):
                    why = rule.item(item, facts)
                    if why:
                        out.append(Violation(rule.name, why, _guid(item)))
        return out

    def rule(self, name: str) -> Rule:
        return next(r for r in self.rules if r.name == name)


def _guid(item: etree._Element) -> str | None:
    found = item.findtext("guid")
    return None if found is None else str(found)


def _text(item: etree._Element, tag: str) -> str:
    return str(item.findtext(tag) or "").strip()


# --- SmartNews: SmartFormat 2.1 --------------------------------------------------------------------------

SMARTNEWS_MAX_BYTES = 1_000_000
SMARTNEWS_DESCRIPTION_CHARS = 30
# The HTML content:encoded may hold, after SmartFormat's list of allowed tags.
SMARTNEWS_TAGS = frozenset({
    "p", "br", "a", "img", "figure", "figcaption", "strong", "b", "em", "i", "u", "s", "small", "sub", "sup",
    "blockquote", "q", "cite", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table", "caption",
    "thead", "tbody", "tfoot", "tr", "th", "td", "div", "span", "pre", "code",
})


def _smartnews_tags(item: etree._Element, facts: Facts) -> str | None:
    body = _text(item, CONTENT)
    if not body:
        return None
    root = lxml.html.fragment_fromstring(body, create_parent="div")
    found = {el.tag for el in root.iter() if isinstance(el.tag, str) and el is not root}
    bad = sorted(found - SMARTNEWS_TAGS)
    return f"content:encoded uses {', '.join('<' + t + '>' for t in bad)}, outside SmartFormat's tags" if bad else None


def _smartnews_description(facts: Facts) -> str | None:
    channel = facts.root.find("channel")
    text = _text(channel, "description") if channel is not None else ""
    if len(text) > SMARTNEWS_DESCRIPTION_CHARS:
        return (f"the channel description has {len(text)} characters; SmartFormat wants {SMARTNEWS_DESCRIPTION_CHARS}"
                " or fewer: set the partner's channel.description")
    return None


def _smartnews_logo(facts: Facts) -> str | None:
    channel = facts.root.find("channel")
    if channel is None or channel.find(f"{{{SNF}}}logo/url") is None:
        return "no snf:logo: set the partner's channel.logo"
    return None


def _smartnews_size(facts: Facts) -> str | None:
    if facts.size > SMARTNEWS_MAX_BYTES:
        return f"the feed is {facts.size:,} bytes; SmartNews takes {SMARTNEWS_MAX_BYTES:,} at most"
    return None


def _plain_title(item: etree._Element, facts: Facts) -> str | None:
    return "the title holds HTML" if _TAG.search(_text(item, "title")) else None


SMARTNEWS = Profile("smartnews", "rss", "rss-smartnews.xml.j2", (
    Rule("smartnews.channel-description", f"channel description of {SMARTNEWS_DESCRIPTION_CHARS} characters or "
         "fewer", document=_smartnews_description),
    Rule("smartnews.logo", "snf:logo names the channel's logo", document=_smartnews_logo),
    Rule("smartnews.file-size", "the feed file within 1 MB", document=_smartnews_size, trims=True),
    Rule("smartnews.title-plain", "item titles without HTML", item=_plain_title),
    Rule("smartnews.html-tags", "content:encoded uses SmartFormat's allowed tags only", item=_smartnews_tags),
))


# --- MSN -------------------------------------------------------------------------------------------------

MSN_TITLE_MIN, MSN_TITLE_MAX = 20, 150
MSN_MAX_AGE = timedelta(days=365)


def _msn_title(item: etree._Element, facts: Facts) -> str | None:
    n = len(_text(item, "title"))
    if n <= MSN_TITLE_MIN or n > MSN_TITLE_MAX:
        return f"the title has {n} characters; MSN wants more than {MSN_TITLE_MIN} and at most {MSN_TITLE_MAX}"
    return None


def _msn_abstract(item: etree._Element, facts: Facts) -> str | None:
    return "the abstract (description) holds HTML" if _TAG.search(_text(item, "description")) else None


def _msn_date(item: etree._Element, facts: Facts) -> str | None:
    raw = _text(item, "pubDate")
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return f"pubDate {raw!r} is not an RFC 822 date"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if when > facts.now:
        return f"pubDate {raw} is in the future"
    if facts.now - when >= MSN_MAX_AGE:
        return f"pubDate {raw} is 365 days old or more"
    return None


def _msn_required(item: etree._Element, facts: Facts) -> str | None:
    missing = [t for t in ("guid", "title", "pubDate", "link") if not _text(item, t)]
    if not _text(item, CONTENT):
        missing.append("content:encoded (the body)")
    return f"MSN needs {', '.join(missing)}" if missing else None


def _msn_https(item: etree._Element, facts: Facts) -> str | None:
    urls = [_text(item, "link")] + [el.get("url", "") for el in item.iter(f"{MEDIA}content", f"{MEDIA}thumbnail")]
    urls += [el.get("url", "") for el in item.iter("enclosure")]
    for url in filter(None, urls):
        parts = urlsplit(url)
        if parts.scheme != "https":
            return f"{url} is not an HTTPS link"
        if parts.username or parts.password:
            return "a link carries credentials"
    return None


MSN = Profile("msn", "rss", "rss-msn.xml.j2", (
    Rule("msn.required", "each item has guid, title, pubDate, link and a body", item=_msn_required),
    Rule("msn.title-length", f"titles of more than {MSN_TITLE_MIN} and at most {MSN_TITLE_MAX} characters",
         item=_msn_title),
    Rule("msn.abstract-plain", "a plain-text abstract", item=_msn_abstract),
    Rule("msn.date", "published dates in the past and less than 365 days old", item=_msn_date),
    Rule("msn.https", "HTTPS links without credentials", item=_msn_https),
))


# --- Flipboard -------------------------------------------------------------------------------------------

FLIPBOARD_MIN_SIDE = 400


def _flipboard_full(item: etree._Element, facts: Facts) -> str | None:
    return None if _text(item, CONTENT) else "no content:encoded: Flipboard takes full-text items only"


def _flipboard_picture(item: etree._Element, facts: Facts) -> str | None:
    pictures = [el for el in item.iter(f"{MEDIA}content") if el.get("medium", "image") == "image"]
    pictures += [el for el in item.iter("enclosure") if el.get("type", "").startswith("image/")]
    if not pictures:
        return "no picture (media:content or enclosure): Flipboard wants one per item"
    sizes: dict[str, list[int]] = {}   # by URL: an enclosure says no size, its media:content twin may
    for el in pictures:
        sides = [int(v) for v in (el.get("width"), el.get("height")) if v and v.isdigit()]
        sizes.setdefault(el.get("url", ""), [])
        if len(sides) == 2:
            sizes[el.get("url", "")] = sides
    if any(not sides or min(sides) >= FLIPBOARD_MIN_SIDE for sides in sizes.values()):
        return None
    return f"every picture is smaller than {FLIPBOARD_MIN_SIDE} px on its smaller side"


FLIPBOARD = Profile("flipboard", "rss", "rss-flipboard.xml.j2", (
    Rule("flipboard.full-content", "the whole article in content:encoded", item=_flipboard_full),
    Rule("flipboard.picture", f"a picture per item, at least {FLIPBOARD_MIN_SIDE} px on its smaller side",
         item=_flipboard_picture),
))

PROFILES: dict[str, Profile] = {p.name: p for p in (SMARTNEWS, MSN, FLIPBOARD)}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(f"unknown profile {name!r}; wirepub knows {', '.join(PROFILES)}") from None


def profile_template(format_name: str, default: str, profile: str | None) -> str:
    """The template a format renders from for a partner's profile (its own when it has none)."""
    if profile is None:
        return default
    chosen = get_profile(profile)
    return chosen.template if chosen.format == format_name else default


def split(violations: Sequence[Violation], profile: Profile) -> tuple[list[Violation], list[Violation], bool]:
    """(item violations, document violations that fail the feed, whether the document is to be trimmed)."""
    items = [v for v in violations if v.guid is not None]
    trims = any(profile.rule(v.rule).trims for v in violations if v.guid is None)
    fatal = [v for v in violations if v.guid is None and not profile.rule(v.rule).trims]
    return items, fatal, trims
