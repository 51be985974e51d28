"""Raw plain text, as a newsroom really receives it (a story scraped from a web page), into a story document.

The first non-empty line is the headline. Short preamble lines after it (a section tag, a photo caption)
are dropped: the body starts at the first paragraph that opens with a dateline ("Deir Ezzor (Syria News)",
"PARIS, France (AP) —", "LONDON —") or else at the first long paragraph. Site boilerplate from "Leave a
Reply", "Related", "Share this:" and the like on (comment forms, lists of other headlines) is not the
story. Agencies the text cites ("told AFP", "SANA news reported") become its sources.

These are text heuristics, so they live here, apart from the contract they feed: the result is a plain
dict for ``schemas/story.schema.json``; the caller adds version, status, language and times.
"""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

__all__ = ["BODY_MIN_CHARS", "parse_plain_text", "slug_id"]

BODY_MIN_CHARS = 120
"""Without a dateline, the body starts at the first paragraph at least this long."""

# Compared with a line lower-cased, trimmed and without a trailing colon ("Share this:" = "Share this").
_BOILERPLATE_LINES = frozenset({
    "leave a reply", "leave a reply cancel reply", "leave a comment", "comments", "related", "related posts",
    "related articles", "share this", "like this", "post navigation", "you may also like", "read more",
})
_BOILERPLATE_PREFIXES = ("your email address will not be published",)

_LINE_BREAK = re.compile(r"\r\n|\r|\n")

# Datelines. A place is 1 to 5 words, each starting with a capital (checked in code, so that any script's
# capitals count: "São Paulo", "Łódź"), letters with apostrophes, hyphens and dots ("St. John's",
# "N'Djamena"), optionally followed by ", Country". It counts only when an outlet in parentheses or a
# dash follows it: a capitalised word alone is an ordinary sentence start.
_LETTER = r"[^\W\d_]"
_WORD = rf"{_LETTER}(?:{_LETTER}|['’.\-])*"
_PLACE = rf"(?P<place>{_WORD}(?:\s+{_WORD}){{0,4}})(?:,\s*(?P<country>{_WORD}(?:\s+{_WORD}){{0,3}}))?"
_WITH_OUTLET = re.compile(rf"{_PLACE}\s+\((?P<outlet>[^()]{{1,80}})\)(?:\s*[-–—]\s*|\s+|$)")
_WITH_DASH = re.compile(rf"{_PLACE}\s+[-–—](?:\s+|$)")
# Small words an outlet's name may hold ("Syrian Observatory for Human Rights", "Agence France-Presse").
_OUTLET_SMALL_WORDS = frozenset({"of", "for", "and", "the", "on", "de", "du", "des", "la", "le", "el", "al", "&"})
# Agencies that write their own name in lower case.
_LOWERCASE_OUTLETS = frozenset({"dpa", "epd", "sid", "efe"})

# Sources: an all-caps acronym of 2 to 6 letters in a citing phrase. The verbs are case-insensitive, the
# acronym is not ("told the AFP", "According to SANA", "SOHR reported", "the SOHR explained").
_ACRONYM = r"\b(?P<acronym>[A-Z]{2,6})\b"
_CITED_BY = r"(?i:reported|reports|said|says|explained|explains|revealed|reveals|quoted|quotes)\b"
_SOURCE_PATTERNS = (
    re.compile(rf"(?i:\btold)\s+(?:(?i:the)\s+)?{_ACRONYM}"),
    re.compile(rf"(?i:\baccording\s+to)\s+(?:(?i:the)\s+)?{_ACRONYM}"),
    re.compile(rf"{_ACRONYM}\s+(?:(?i:news(?:\s+agency)?)\s+)?{_CITED_BY}"),
)
# Agencies cited by their full name ("told Reuters", "Agence France-Presse said", "according to the
# Associated Press"): a capitalised name alone is too often a person or a place to count, so these are named.
_AGENCY_NAMES = (
    "Reuters", "Associated Press", "Agence France-Presse", "Agence France Presse", "Deutsche Presse-Agentur",
    "Bloomberg", "Xinhua", "Kyodo News", "Kyodo", "Yonhap", "Anadolu Agency", "Anadolu", "Press Trust of India",
    "Interfax", "Tass", "Agenzia Nazionale Stampa Associata", "Europa Press", "Jiji Press",
    "United Press International",
    "Canadian Press", "Australian Associated Press", "Press Association", "Al Jazeera",
    "Wikinews",
)
_AGENCY = r"(?P<agency>" + "|".join(re.escape(n) for n in sorted(_AGENCY_NAMES, key=len, reverse=True)) + r")\b"
_AGENCY_PATTERNS = (
    re.compile(rf"(?i:\btold)\s+(?:(?i:the)\s+)?{_AGENCY}"),
    re.compile(rf"(?i:\baccording\s+to)\s+(?:(?i:the)\s+)?{_AGENCY}"),
    re.compile(rf"(?i:\b(?:quoted|cited)\s+by)\s+(?:(?i:the)\s+)?{_AGENCY}"),
    re.compile(rf"\b{_AGENCY}\s+(?:(?i:news(?:\s+agency)?)\s+)?{_CITED_BY}"),
)

# Capitals that say something but are not a cited body ("state TV reported", "the PM said").
_NOT_SOURCES = frozenset({"TV", "PM", "MP", "CEO", "AM", "GMT", "UTC", "OK"})
_MAX_SOURCES = 50  # the contract's maxItems

_MAX_ID_CHARS = 128  # the contract's id pattern allows 1 + 127 characters


def slug_id(name: str) -> str:
    """A story id from a file name: transliterated into ASCII (Москва -> Moskva, Київ -> Kyiv, 東京 ->
    DongJing), lower case, runs of other characters as '-', no '..', no edge '-' or '.'.

    Raises ValueError when nothing usable is left.
    """
    slug = re.sub(r"[^a-z0-9._-]+", "-", anyascii(unicodedata.normalize("NFC", name)).lower())
    slug = re.sub(r"\.{2,}", ".", slug)
    slug = slug.lstrip("-._").rstrip("-.")  # the contract wants a letter or digit first
    slug = slug[:_MAX_ID_CHARS].rstrip("-.")
    if not slug:
        raise ValueError(f"cannot make a story id from the file name {name!r}: "
                         "rename the file so that its name holds letters or digits")
    return slug


def parse_plain_text(text: str, *, name: str) -> dict[str, object]:
    """Parse a raw text story into a story document (keys: id, headline, body, body_format, dateline,
    credit, sources; a key is left out when there is nothing for it). ``name`` is the file's stem, which
    gives the id. Raises ValueError when there is no headline or no usable id."""
    lines = _LINE_BREAK.split(text.removeprefix("\ufeff"))  # each line is trimmed where it is used
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise ValueError("the text is empty: a plain-text story needs its headline on the first line")
    document: dict[str, object] = {"id": slug_id(name), "headline": lines[first].strip()}

    paragraphs = _paragraphs(_cut_boilerplate(lines[first + 1:]))
    body = paragraphs[_body_start(paragraphs):]
    match = _dateline(body[0]) if body else None
    if match is not None:
        body[0] = body[0][match.end():].strip()
        if not body[0]:  # the dateline stood alone above the text
            body.pop(0)
    if body:
        document["body"] = "\n\n".join(body)
        document["body_format"] = "text"
    if match is not None:
        dateline = {"place": _spaced(match.group("place"))}
        if match.group("country"):
            dateline["country"] = _spaced(match.group("country"))
        document["dateline"] = dateline
        outlet = match.groupdict().get("outlet")
        if outlet:
            document["credit"] = _spaced(outlet)
    sources = _sources("\n\n".join(body))
    if sources:
        document["sources"] = sources
    return document


def _cut_boilerplate(lines: list[str]) -> list[str]:
    """The lines before the first line of site boilerplate (comment form, related links, sharing)."""
    for i, line in enumerate(lines):
        low = line.strip().lower()
        if low.removesuffix(":").rstrip() in _BOILERPLATE_LINES or low.startswith(_BOILERPLATE_PREFIXES):
            return lines[:i]
    return lines


def _paragraphs(lines: list[str]) -> list[str]:
    """Blank lines separate paragraphs; inside one, the lines are joined with single spaces."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    return paragraphs


def _body_start(paragraphs: list[str]) -> int:
    """Index of the first body paragraph: a dateline, or else a long paragraph, or else the first.

    Preamble lines are short, so a dateline is looked for only up to the first long paragraph: a later
    paragraph opening "Mr Smith (Labour) said" must not throw away the story above it.
    """
    for i, paragraph in enumerate(paragraphs):
        if _dateline(paragraph) is not None or len(paragraph) >= BODY_MIN_CHARS:
            return i
    return 0


def _dateline(paragraph: str) -> re.Match[str] | None:
    """The dateline opening the paragraph ("Place (Outlet) ", "PLACE, Country (Outlet) —", "PLACE — ")."""
    match = _WITH_OUTLET.match(paragraph)
    if match is None or not _is_outlet(match.group("outlet")):
        match = _WITH_DASH.match(paragraph)
    if match is None:
        return None
    words = match.group("place").split()
    if match.group("country"):
        words += match.group("country").split()
    return match if all(word[0].isupper() for word in words) else None


def _is_outlet(outlet: str) -> bool:
    """A name ("Syria News", "AP", "Syrian Observatory for Human Rights", "dpa"), not a remark."""
    words = outlet.split()
    if len(words) == 1 and words[0] in _LOWERCASE_OUTLETS:
        return True
    return (
        0 < len(words) <= 8
        and words[0][0].isupper()
        and all(word[0].isupper() or word[0].isdigit() or word in _OUTLET_SMALL_WORDS for word in words)
    )


def _sources(body: str) -> list[str]:
    """Agencies the body cites as sources (acronyms, and agencies named in full), in order of first
    appearance, each once."""
    found = sorted(
        [(match.start("acronym"), match.group("acronym"))
         for pattern in _SOURCE_PATTERNS
         for match in pattern.finditer(body)
         if match.group("acronym") not in _NOT_SOURCES]
        + [(match.start("agency"), match.group("agency")) for pattern in _AGENCY_PATTERNS
           for match in pattern.finditer(body)]
    )
    return list(dict.fromkeys(name for _, name in found))[:_MAX_SOURCES]


def _spaced(value: str) -> str:
    return " ".join(value.split())
