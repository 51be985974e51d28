"""Story bodies in, a safe XHTML fragment out.

HTML is cleaned by an allow-list sanitiser (nh3, the Python binding of Rust's ammonia), never by regular
expressions; what it keeps is then re-serialised by lxml as well-formed XML, so the same fragment can sit
inside NewsML-G2's inlineXML, RSS's content:encoded and JSON Feed's content_html. Plain text becomes
paragraphs; Markdown goes through CommonMark first and is then cleaned like any HTML.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache

import lxml.html
import nh3
from lxml import etree

# The subset of HTML a news story needs, nothing that runs or restyles a partner's page.
ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd",
    "blockquote", "q", "cite", "a", "em", "strong", "b", "i", "u", "s", "sub", "sup", "small", "abbr",
    "code", "pre", "span", "div", "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td",
    "figure", "figcaption", "img",
})
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title", "hreflang"},
    "abbr": {"title"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}
BLOCK_TAGS = frozenset(
    ["p", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "blockquote", "pre", "div", "table", "figure"]
)

# What every format's validator takes: libxml2 refuses XML nested deeper than 256 (the body sits some ten
# levels down in a NewsML-G2 item), and a body of more elements than this is not a story.
MAX_DEPTH = 100
MAX_ELEMENTS = 50_000


class BodyTooComplex(ValueError):
    """A body nested too deeply or with too many elements for the formats' validators."""


# XML 1.0 allows tab, LF, CR and everything from U+0020 up, except surrogates and U+FFFE/U+FFFF.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_forbidden_char(text: str) -> tuple[int, str] | None:
    """The offset and code point of the first character XML 1.0 forbids, or None."""
    m = _XML_FORBIDDEN.search(text)
    return (m.start(), f"U+{ord(m.group()):04X}") if m else None


@dataclass(frozen=True, slots=True)
class CleanBody:
    xhtml: str                  # well-formed XHTML fragment, elements in no namespace
    text: str                   # the same as plain text, white space folded (for summaries)
    removed: tuple[str, ...]    # what the sanitiser took out (for the warning), e.g. ("<script>", "onclick")


def clean_body(raw: str, body_format: str | None) -> CleanBody:
    """Turn a story body (html, markdown or text) into a safe, well-formed XHTML fragment."""
    fmt = body_format or ("html" if raw.lstrip().startswith("<") else "text")
    if fmt == "text":
        paragraphs = _paragraphs(raw)
        return CleanBody("".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs),
                         " ".join(paragraphs), ())
    source = _markdown().render(raw) if fmt == "markdown" else raw
    removed = _what_will_be_removed(source) if "<" in source else ()
    cleaned = nh3.clean(
        source,
        tags=set(ALLOWED_TAGS),
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        url_relative="deny",  # a relative link means nothing on a partner's site
        strip_comments=True,
        link_rel="noopener noreferrer",
    )
    if not cleaned.strip():
        return CleanBody("", "", removed)
    root = lxml.html.fragment_fromstring(cleaned, create_parent="div")
    _check_shape(root)
    _normalise_attributes(root)
    text = plain_text(root)  # before _to_xhtml, which takes the tails apart
    return CleanBody(_to_xhtml(root), text, removed)


# What the NewsML-G2 XHTML profile (schemas/newsml-g2-profile-xhtml.xsd) accepts, so every body we pass validates.
_SAFE_URL = re.compile(r"(https?|mailto):[^\r\n]+")
_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*):")
_INTEGER = re.compile(r"[+-]?\d+")
_URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
_MIN_INTEGER = {"colspan": 1, "rowspan": 0, "start": None}  # xs:positiveInteger, xs:nonNegativeInteger, xs:integer


def _safe_url(value: str) -> str | None:
    """The URL with its scheme in lower case, or None when the profile would refuse it (e.g. a bare mailto:)."""
    value = value.strip()
    m = _SCHEME.match(value)
    if m:
        value = m.group(1).lower() + value[m.end(1):]
    return value if _SAFE_URL.fullmatch(value) else None


def _safe_integer(value: str, minimum: int | None) -> str | None:
    """A canonical integer, or None when the value is not one (colspan="wide", start="a") or is below minimum."""
    value = value.strip()
    if not _INTEGER.fullmatch(value):
        return None
    number = int(value)
    return str(number) if minimum is None or number >= minimum else None


def _normalise_attributes(root: lxml.html.HtmlElement) -> None:
    """Lower-case URL schemes; drop URLs, spans and list starts the XHTML profile schema would refuse."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in list(el.attrib.items()):
            fixed: str | None = value
            if name in _URL_ATTRIBUTES:
                fixed = _safe_url(value)
            elif name in _MIN_INTEGER:
                fixed = _safe_integer(value, _MIN_INTEGER[name])
            if fixed is None:
                del el.attrib[name]
            elif fixed != value:
                el.attrib[name] = fixed


# Elements whose edges separate words: their text never runs into the next paragraph's ("Rafina."We'll).
_SEPARATING = BLOCK_TAGS | {"br", "li", "dt", "dd", "tr", "td", "th", "caption", "figcaption", "thead", "tbody",
                            "tfoot"}


def plain_text(root: etree._Element) -> str:
    """An element's text with white space folded, a space where a block or a line break separates words."""
    parts: list[str] = []
    stack: list[tuple[etree._Element, bool]] = [(root, False)]
    while stack:
        el, closing = stack.pop()
        separating = isinstance(el.tag, str) and el.tag in _SEPARATING
        if closing:
            if separating:
                parts.append(" ")
            if el.tail and el is not root:
                parts.append(el.tail)
            continue
        if separating:
            parts.append(" ")
        if isinstance(el.tag, str) and el.text:
            parts.append(el.text)
        stack.append((el, True))
        stack.extend((child, False) for child in reversed(el))
    return " ".join("".join(parts).split())


def _check_shape(root: lxml.html.HtmlElement) -> None:
    """Refuse a body the validators would refuse later, for ever, on every run (BodyTooComplex)."""
    count = 0
    stack = [(root, 0)]
    while stack:
        element, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise BodyTooComplex(f"elements nested more than {MAX_DEPTH} deep; no format can carry that")
        if count > MAX_ELEMENTS:
            raise BodyTooComplex(f"more than {MAX_ELEMENTS:,} elements; no format can carry that")
        stack.extend((child, depth + 1) for child in element)


def _paragraphs(text: str) -> list[str]:
    """Plain text: paragraphs separated by blank lines; single newlines inside a paragraph are spaces."""
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n")))
    return [p for p in paragraphs if p]


def _to_xhtml(root: lxml.html.HtmlElement) -> str:
    out: list[str] = []
    loose: list[str] = []  # text and inline elements at the top level, gathered into a paragraph

    def flush() -> None:
        joined = "".join(loose).strip()
        if joined:
            out.append(f"<p>{joined}</p>")
        loose.clear()

    if root.text:
        loose.append(html.escape(root.text, quote=False))
    for child in root:
        tail = child.tail
        child.tail = None
        serialised = etree.tostring(child, encoding="unicode", method="xml")
        if child.tag in BLOCK_TAGS:
            flush()
            out.append(serialised)
        else:
            loose.append(serialised)
        if tail:
            loose.append(html.escape(tail, quote=False))
    flush()
    return "".join(out)


def _what_will_be_removed(source: str) -> tuple[str, ...]:
    """Name the elements and attributes the allow-list will drop, so the desk can be told."""
    try:
        root = lxml.html.fragment_fromstring(source, create_parent="div")
    except (etree.ParserError, ValueError):
        return ()
    found: dict[str, None] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el is not root and el.tag not in ALLOWED_TAGS:
            found[f"<{el.tag}>"] = None
        allowed = ALLOWED_ATTRIBUTES.get(el.tag, set())
        for name in el.attrib:
            if name not in allowed:
                found[name] = None
    return tuple(found)


@lru_cache(maxsize=1)
def _markdown():  # type: ignore[no-untyped-def]
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True, "linkify": False})
