"""Raw text as a newsroom really receives it (a story scraped from a web page) into a story document.

The first line is the headline; short lines before the body (a section tag, a photo caption) are dropped;
a "Place (Outlet)" or "PLACE —" opening is the dateline; site boilerplate from "Leave a Reply" on (comment
forms, lists of other headlines) is not the story; agencies the text cites ("told AFP", "SANA reported")
become its sources. These are text heuristics, so they live here, apart from the contract they feed.
"""

from __future__ import annotations

import re

BODY_MIN_CHARS = 120
BOILERPLATE_LINES = frozenset(s.lower() for s in (
    "Leave a Reply", "Leave a Comment", "Comments", "Related", "Related Posts", "Related Articles",
    "Share this:", "Share this", "Like this:", "Post navigation", "You may also like", "Read more",
))
BOILERPLATE_PREFIXES = ("your email address will not be published",)

_WORD = r"[A-Z\u00C0-\u00DE][\w'’.\-]*"
_PLACE = rf"(?P<place>{_WORD}(?: {_WORD}){{0,4}})(?:, (?P<country>{_WORD}(?: {_WORD}){{0,3}}))?"
_DASH = r"[-–—]"
# An outlet is a name: capitalised words, with the small words names have ("Observatory for Human Rights").
_OUTLET = r"[A-Z][\w.&'’-]*(?: (?:[A-Z][\w.&'’-]*|of|for|and|de|du|la|le|el|al))*|[a-z]{2,5}"  # or dpa, efe
_DATELINE_OUTLET = re.compile(rf"^{_PLACE} \((?P<outlet>{_OUTLET})\)\s*(?:{_DASH}\s*)?")
_DATELINE_DASH = re.compile(rf"^{_PLACE}\s+{_DASH}\s+")
_ACRONYM = r"([A-Z]{2,6})"
_SOURCE_PATTERNS = [
    re.compile(rf"\btold (?:the )?{_ACRONYM}\b"),
    re.compile(rf"\baccording to (?:the )?{_ACRONYM}\b"),
    re.compile(rf"\b{_ACRONYM}(?: news)? (?:reported|said|explained|revealed|quoted)\b"),
]


def slug_id(name: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower())
    slug = re.sub(r"\.{2,}", ".", slug).strip("-.")[:128].strip("-.")
    if not slug:
        raise ValueError(f"cannot make a story id from the file name {name!r}; rename the file")
    return slug


def parse_plain_text(text: str, *, name: str) -> dict[str, object]:
    lines = [line.rstrip() for line in text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = _cut_boilerplate(lines)
    paragraphs = _paragraphs(lines)
    if not paragraphs:
        raise ValueError("the file is empty: the first line of a text story is its headline")
    headline_lines = paragraphs[0].split("\n")
    headline = headline_lines[0].strip()
    rest = ["\n".join(headline_lines[1:])] if len(headline_lines) > 1 else []
    rest += paragraphs[1:]
    rest = [" ".join(p.split()) for p in rest if p.strip()]

    start = next((i for i, p in enumerate(rest) if _dateline(p)), None)
    if start is None:
        start = next((i for i, p in enumerate(rest) if len(p) >= BODY_MIN_CHARS), 0)
    body = rest[start:]
    document: dict[str, object] = {"id": slug_id(name), "headline": headline}
    if body:
        match = _dateline(body[0])
        if match:
            document["dateline"] = {"place": match.group("place")}
            if match.group("country"):
                document["dateline"]["country"] = match.group("country")  # type: ignore[index]
            if match.groupdict().get("outlet"):
                document["credit"] = match.group("outlet").strip()
            body[0] = body[0][match.end():]
    document["body"] = "\n\n".join(body)
    document["body_format"] = "text"
    sources = _sources(document["body"])  # type: ignore[arg-type]
    if sources:
        document["sources"] = sources
    return document


def _cut_boilerplate(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        low = line.strip().lower()
        if low in BOILERPLATE_LINES or low.startswith(BOILERPLATE_PREFIXES):
            return lines[:i]
    return lines


def _paragraphs(lines: list[str]) -> list[str]:
    out: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            out[-1].append(line.strip())
        elif out[-1]:
            out.append([])
    return ["\n".join(p) for p in out if p]


def _dateline(paragraph: str) -> re.Match[str] | None:
    return _DATELINE_OUTLET.match(paragraph) or _DATELINE_DASH.match(paragraph)


def _sources(body: str) -> list[str]:
    found: list[tuple[int, str]] = []
    for pattern in _SOURCE_PATTERNS:
        found.extend((m.start(), m.group(1)) for m in pattern.finditer(body))
    seen: dict[str, None] = {}
    for _, name in sorted(found):
        seen.setdefault(name, None)
    return list(seen)
