"""Our profile schemas accept what the formats make, and refuse what must never leave the building.

Real stories (every optional field, withdrawn, corrected, updated, right-to-left, embargoed...) are rendered
through each format and checked against our profile (schemas/) and, where ../shared/standards is present,
against the official schemas: the IPTC NewsML-G2 2.35 XSD and the JSON Feed 1.1 community schema.
Then rendered documents are broken on purpose, one promise at a time, and our profile must refuse each
one through the same Validator wirepub runs before delivering, with a message that names what is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from lxml import etree

from wirepub.config import build_config
from wirepub.errors import DocumentInvalid
from wirepub.formats import RenderContext, get_format
from wirepub.story import story_from_document
from wirepub.validate import Validator

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
STANDARDS = Path(__file__).resolve().parents[2] / "shared" / "standards"
OFFICIAL_NEWSML = STANDARDS / "newsml-g2" / "NewsML-G2_2.35-spec-All-Power.xsd"
OFFICIAL_JSONFEED = STANDARDS / "jsonfeed" / "jsonfeed-1.1.schema.json"

NAR = "http://iptc.org/std/nar/2006-10-01/"
XS = "http://www.w3.org/2001/XMLSchema"
PROFILES = {"newsml-g2": "newsml-g2-profile.xsd", "rss": "rss-2.0.xsd", "jsonfeed": "jsonfeed-1.1.schema.json"}

CONFIG = build_config(
    {"provider": {"copyright_notice": "(c) wirepub.example"}},  # RSS's channel copyright branch
    base_dir=Path("."), path=None,
)
CTX = RenderContext(CONFIG.provider, CONFIG.channel, feed_path="feeds/rss.xml")

MINIMAL: dict[str, Any] = {"id": "m-1", "headline": "Minimal", "body": "Plain text.",
                           "version_created": "2026-11-25T08:00:00Z"}
FULL: dict[str, Any] = {
    "id": "full-story", "version": 2, "headline": "Full & complete <story>", "subheadline": "Sub",
    "slug": "FULL-STORY", "summary": "Summary.", "body": "<p>Body <a href='https://e.org/'>link</a></p>",
    "byline": "By Someone", "authors": [{"name": "Some One", "url": "https://e.org/someone"}, {"name": "Two"}],
    "dateline": {"place": "Paris", "country": "France", "date": "2026-11-25"}, "language": "fr",
    "subjects": [{"name": "politics", "code": "medtop:11000000"}, "plain"], "keywords": ["k1", "k2"],
    "genre": "genre:Current", "urgency": 1, "embargo": "2026-11-25T09:00:00+01:00",
    "first_created": "2026-11-25T07:00:00Z", "version_created": "2026-11-25T08:00:00Z",
    "credit": "Agency", "sources": ["AFP", "SANA"], "copyright_holder": "Holder",
    "copyright_notice": "(c) Holder", "usage_terms": "None", "url": "https://e.org/full", "ednote": "Note",
    "correction": "Fixed a name.",
    "media": [{"url": "https://e.org/p.jpg", "type": "image/jpeg", "caption": "Cap", "size": 10,
               "width": 10, "height": 10},
              {"url": "https://e.org/v.mp4", "type": "video/mp4"}],
}
RICH_HTML = (
    "<h1>a</h1><h2>b</h2><h3>c</h3><h4>d</h4><h5>e</h5><h6>f</h6>"
    "<table><caption>c</caption><thead><tr><th scope='col' colspan='2' rowspan='1'>x</th></tr></thead>"
    "<tbody><tr><td colspan='1' rowspan='2'>y</td></tr></tbody><tfoot><tr><td>z</td></tr></tfoot></table>"
    "<ol start='3'><li>a</li></ol><ul><li>b</li></ul><dl><dt>a</dt><dd>b</dd></dl>"
    "<blockquote cite='https://e.org/q'>q <q cite='https://e.org/q2'>z</q> <cite>Someone</cite></blockquote>"
    "<figure><img src='https://e.org/i.png' alt='a' width='10' height='20'><figcaption>c</figcaption></figure>"
    "<p><a href='https://e.org/' title='t' hreflang='en'>l</a> <a href='mailto:desk@e.org'>m</a>"
    " <abbr title='t'>A</abbr> <code>c</code> <small>s</small> <sub>1</sub> <sup>2</sup> <u>u</u> <s>s</s>"
    " <em>e</em> <strong>s</strong> <b>b</b> <i>i</i> <span>sp</span><br></p><hr><pre>p</pre><div>d</div>"
)
# Each variant, and a piece of its NewsML-G2 that proves it took the template branch it is here for.
VARIANTS: dict[str, tuple[dict[str, Any], str]] = {
    "minimal": (MINIMAL, '<pubStatus qcode="stat:usable"/>'),
    "full": (FULL, '<headline role="hlrole:sub">Sub</headline>'),
    "withdrawn": ({**MINIMAL, "version": 3, "status": "withdrawn", "withdrawal_note": "Legal."},
                  '<pubStatus qcode="stat:canceled"/>'),
    "correction": ({**MINIMAL, "version": 2, "correction": "The mayor's name is Ann."},
                   '<signal qcode="sig:correction"/>'),
    "version-2": ({**MINIMAL, "version": 2}, '<signal qcode="sig:update"/>'),
    "arabic-rtl": ({**MINIMAL, "language": "ar", "headline": "عنوان الخبر", "body": "<p>نص <b>الخبر</b>.</p>"},
                   'xml:lang="ar" dir="rtl"'),
    "embargoed": ({**MINIMAL, "embargo": "2026-11-25T09:00:00+01:00"},
                  "<embargoed>2026-11-25T09:00:00+01:00</embargoed>"),
    "genre-by-name": ({**MINIMAL, "genre": "Analysis"}, "<genre><name>Analysis</name></genre>"),
    "every-allowed-element": ({**MINIMAL, "body": RICH_HTML}, '<th scope="col" colspan="2" rowspan="1">'),
    "markdown": ({**MINIMAL, "body_format": "markdown",
                  "body": "# Title\n\n* one\n* two\n\n`code` **bold** _it_ [link](https://e.org/)\n\n> quote"},
                 "<h1>Title</h1>"),
}


# --- helpers ------------------------------------------------------------------------------------

def story(name: str) -> Any:
    return story_from_document(VARIANTS[name][0], origin=f"{name}.json")


def render(fmt_name: str, names: list[str], ctx: RenderContext = CTX) -> bytes:
    fmt = get_format(fmt_name)
    stories = [story(n) for n in names]
    return fmt.render(stories, ctx) if fmt.kind == "feed" else fmt.render(stories[0], ctx)


@cache
def xml_schema(path: Path) -> etree.XMLSchema:
    # no_network: every schema here must compile offline, imports included.
    return etree.XMLSchema(etree.parse(str(path), etree.XMLParser(no_network=True)))


@cache
def json_validator(path: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    # Official checks assert "format" too (date-time is checkable here; uri is not without rfc3987).
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def xml_errors(path: Path, data: bytes) -> list[str]:
    schema = xml_schema(path)
    schema.validate(etree.fromstring(data, etree.XMLParser(no_network=True, resolve_entities=False)))
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def json_errors(path: Path, data: bytes) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in json_validator(path).iter_errors(json.loads(data))]


def official(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: the official-schema checks need ../shared/standards beside the repository")
    return path


@pytest.fixture(scope="module")
def runtime() -> Validator:
    """The validator wirepub runs before every delivery, with our profiles only."""
    return Validator()


def refused(runtime: Validator, fmt_name: str, data: bytes) -> DocumentInvalid:
    with pytest.raises(DocumentInvalid) as info:
        runtime.check(data, get_format(fmt_name), story="broken")
    return info.value


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) >= 1, f"the rendered document no longer contains {old!r}: update this test"
    return text.replace(old, new, 1)


# --- the schemas themselves ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["newsml-g2-profile.xsd", "rss-2.0.xsd"])
def test_xml_profiles_compile_offline(name):
    schema = xml_schema(SCHEMAS / name)
    assert isinstance(schema, etree.XMLSchema)


def test_newsml_profile_is_a_schema_of_the_newsml_namespace():
    root = etree.parse(str(SCHEMAS / "newsml-g2-profile.xsd")).getroot()
    assert root.get("targetNamespace") == NAR
    assert [e.get("name") for e in root.findall(f"{{{XS}}}element")] == ["newsItem", "packageItem"]


def test_jsonfeed_profile_is_draft_2020_12():
    validator = json_validator(SCHEMAS / "jsonfeed-1.1.schema.json")
    assert isinstance(validator, jsonschema.Draft202012Validator)


@pytest.mark.parametrize("fmt_name", PROFILES)
def test_each_format_is_validated_against_its_profile_here(fmt_name):
    assert get_format(fmt_name).schema == PROFILES[fmt_name]
    assert (SCHEMAS / PROFILES[fmt_name]).is_file()


def test_official_schemas_compile_offline():
    assert isinstance(xml_schema(official(OFFICIAL_NEWSML)), etree.XMLSchema)
    assert json_validator(official(OFFICIAL_JSONFEED)) is not None


# --- what the formats make is valid -------------------------------------------------------------

@pytest.mark.parametrize("variant", VARIANTS)
def test_each_variant_takes_the_template_branch_it_is_here_for(variant):
    assert VARIANTS[variant][1] in render("newsml-g2", [variant]).decode()


def test_the_variants_produce_every_element_the_newsml_profile_declares():
    """So that 'every variant is valid' covers every optional branch of the template."""
    declared = {e.get("name") for e in etree.parse(str(SCHEMAS / "newsml-g2-profile.xsd")).iter(f"{{{XS}}}element")
                if e.get("name")}
    produced: set[str] = set()
    for variant in VARIANTS:
        root = etree.fromstring(render("newsml-g2", [variant]))
        produced |= {etree.QName(el).localname for el in root.iter() if etree.QName(el).namespace == NAR}
    # ... and the picture items and package of a partner that takes packages (partners.newsml_packages)
    from formats_helpers import NOW, renderer, story

    r, partners = renderer({"partners": [{"name": "p", "destinations": ["x"], "newsml_packages": True}]})
    pictured = story(media=[{"url": "https://img.example/p.jpg", "type": "image/jpeg", "caption": "C", "alt": "A",
                             "credit": "Cr", "width": 2, "height": 2, "size": 9}])
    for doc in r.items(partners[0], get_format("newsml-g2"), pictured, NOW)[1:]:
        root = etree.fromstring(doc.data)
        produced |= {etree.QName(el).localname for el in root.iter() if etree.QName(el).namespace == NAR}
    assert declared - produced == set()


@pytest.mark.parametrize("variant", VARIANTS)
def test_newsml_variant_is_valid_against_our_profile_and_the_iptc_xsd(runtime, variant):
    data = render("newsml-g2", [variant])
    assert xml_errors(SCHEMAS / "newsml-g2-profile.xsd", data) == []
    runtime.check(data, get_format("newsml-g2"), story=variant)
    assert xml_errors(official(OFFICIAL_NEWSML), data) == []


FEEDS = {**{v: [v] for v in VARIANTS}, "all": list(VARIANTS), "empty": []}


@pytest.mark.parametrize("feed", FEEDS)
def test_rss_feed_is_valid_against_our_profile(runtime, feed):
    data = render("rss", FEEDS[feed])
    assert xml_errors(SCHEMAS / "rss-2.0.xsd", data) == []
    runtime.check(data, get_format("rss"), story=feed)


@pytest.mark.parametrize("feed", FEEDS)
def test_jsonfeed_is_valid_against_our_profile_and_the_official_schema(runtime, feed):
    data = render("jsonfeed", FEEDS[feed])
    assert json_errors(SCHEMAS / "jsonfeed-1.1.schema.json", data) == []
    runtime.check(data, get_format("jsonfeed"), story=feed)
    assert json_errors(official(OFFICIAL_JSONFEED), data) == []


def test_the_feeds_take_every_optional_branch():
    rss = render("rss", list(VARIANTS)).decode()
    for piece in ("<copyright>", "<lastBuildDate>", "<link>https://e.org/full</link>", "<dc:creator>",
                  '<category domain="http://cv.iptc.org/newscodes/mediatopic/">politics</category>',
                  "<category>plain</category>", '<enclosure url="https://e.org/p.jpg" length="10"'):
        assert piece in rss
    assert "<lastBuildDate>" not in render("rss", []).decode()
    items = {i["id"].rsplit(":", 1)[1]: i for i in json.loads(render("jsonfeed", list(VARIANTS)))["items"]}
    assert {"url", "authors", "tags", "image", "attachments"} <= items["full-story"].keys()
    assert "url" not in items["m-1"] and "authors" not in items["m-1"]


# --- NewsML-G2: what our profile refuses --------------------------------------------------------

def move_embargoed_after_pub_status(text: str) -> str:
    line = next(li for li in text.splitlines(keepends=True) if "<embargoed>" in li)
    text = replace_once(text, line, "")
    return replace_once(text, '<pubStatus qcode="stat:usable"/>\n', '<pubStatus qcode="stat:usable"/>\n' + line)


def r(old: str, new: str) -> Callable[[str], str]:
    return lambda text: replace_once(text, old, new)


NEWSML_BREAKS: dict[str, tuple[Callable[[str], str], str]] = {
    # the body's allow-list
    "script element": (r("<p>Body ", "<p><script>alert(1)</script>Body "), "}script'"),
    "onclick attribute": (r("<p>Body ", '<p onclick="steal()">Body '), "'onclick'"),
    "style attribute": (r("<p>Body ", '<p style="color:red">Body '), "'style'"),
    "iframe": (r("<p>Body ", '<iframe src="https://e.org/"></iframe><p>Body '), "}iframe'"),
    "object": (r("<p>Body ", '<object data="https://e.org/x.swf"></object><p>Body '), "}object'"),
    "style element in head": (r("</title></head>", "</title><style>p{}</style></head>"), "}style'"),
    "javascript link": (r('href="https://e.org/"', 'href="javascript:steal()"'), "javascript:steal()"),
    "html dir other than ltr or rtl": (r('dir="ltr"', 'dir="auto"'), "'auto'"),
    "inlineXML not XHTML": (r('contenttype="application/xhtml+xml"', 'contenttype="text/html"'), "text/html"),
    # itemMeta
    "embargoed after pubStatus": (move_embargoed_after_pub_status, "'{http://iptc.org/std/nar/2006-10-01/}embargoed'"),
    "versionCreated without a timezone": (r("<versionCreated>2026-11-25T08:00:00+00:00",
                                            "<versionCreated>2026-11-25T08:00:00"), "versionCreated"),
    "embargoed without a timezone": (r("<embargoed>2026-11-25T09:00:00+01:00", "<embargoed>2026-11-25T09:00:00"),
                                     "embargoed"),
    "pubStatus stat:foo": (r('<pubStatus qcode="stat:usable"/>', '<pubStatus qcode="stat:foo"/>'), "stat:foo"),
    "unknown signal": (r('<signal qcode="sig:correction"/>', '<signal qcode="sig:whatever"/>'), "sig:whatever"),
    "neither a text nor a picture item": (r('qcode="ninat:text"', 'qcode="ninat:video"'), "ninat:video"),
    "unknown element": (r("<itemMeta>", "<itemMeta><foo/>"), "}foo'"),
    # newsItem
    "standardversion 2.34": (r('standardversion="2.35"', 'standardversion="2.34"'), "standardversion"),
    "no standard": (r(' standard="NewsML-G2"', ""), "'standard'"),
    "no guid": (r(' guid="urn:newsml:wirepub.example:full-story"', ""), "'guid'"),
    "version 0": (r(' version="2"', ' version="0"'), "'version'"),
    "foreign attribute": (r("<newsItem ", '<newsItem xmlns:x="urn:x" x:tracking="1" '), "tracking"),
    # contentMeta
    "urgency 10": (r("<urgency>1</urgency>", "<urgency>10</urgency>"), "urgency"),
    "urgency 0": (r("<urgency>1</urgency>", "<urgency>0</urgency>"), "urgency"),
    "no language": (r('<language tag="fr"/>', ""), "language"),
    "no headline": (lambda t: re.sub(r"\s*<headline[^>]*>[^<]*</headline>", "", t), "headline"),
    "contentCreated without a timezone": (r("<contentCreated>2026-11-25T07:00:00+00:00",
                                            "<contentCreated>2026-11-25T07:00:00"), "contentCreated"),
}


@pytest.mark.parametrize("case", NEWSML_BREAKS)
def test_newsml_profile_refuses(runtime, case):
    breaking, why = NEWSML_BREAKS[case]
    text = render("newsml-g2", ["full"]).decode()
    broken = breaking(text)
    assert broken != text
    error = refused(runtime, "newsml-g2", broken.encode())
    # The message wirepub reports (the last one) names the cause, on the line that was broken.
    assert why in error.message, error.message
    assert error.line is not None and error.line > 1


def test_a_script_gets_past_the_iptc_xsd_but_not_past_our_profile(runtime):
    """Why our profile exists: the IPTC XSD takes any well-formed XML in inlineXML."""
    broken = NEWSML_BREAKS["script element"][0](render("newsml-g2", ["full"]).decode()).encode()
    assert xml_errors(official(OFFICIAL_NEWSML), broken) == []
    assert "}script'" in refused(runtime, "newsml-g2", broken).message


# --- RSS 2.0: what our profile refuses ----------------------------------------------------------

def without_title_and_description(text: str) -> str:
    channel, item = text.split("<item>", 1)
    item = re.sub(r"\s*<(title|description)>[^<]*</(title|description)>", "", item)
    return channel + "<item>" + item


RSS_BREAKS: dict[str, tuple[Callable[[str], str], str]] = {
    "two-digit year in pubDate": (r("<pubDate>Wed, 25 Nov 2026", "<pubDate>Wed, 25 Nov 26"), "pubDate"),
    "two-digit year in lastBuildDate": (r("<lastBuildDate>Wed, 25 Nov 2026", "<lastBuildDate>Wed, 25 Nov 26"),
                                        "lastBuildDate"),
    "ISO date": (r("<pubDate>Wed, 25 Nov 2026 08:00:00 +0000", "<pubDate>2026-11-25T08:00:00Z"), "pubDate"),
    "no atom:link self": (lambda t: re.sub(r"\s*<atom:link [^>]*/>", "", t), "Atom}link"),
    "atom:link not self": (r('rel="self"', 'rel="hub"'), 'rel="self"'),
    "atom:link not self nor hub": (r('rel="self"', 'rel="next"'), "'rel'"),
    "atom:link without type": (r(' type="application/rss+xml"', ""), 'type="application/rss+xml"'),
    "guid without isPermaLink": (r('<guid isPermaLink="false">', "<guid>"), "isPermaLink"),
    "isPermaLink not a boolean": (r('isPermaLink="false"', 'isPermaLink="no"'), "isPermaLink"),
    "no guid": (lambda t: re.sub(r"\s*<guid [^>]*>[^<]*</guid>", "", t), "guid"),
    "no pubDate in an item": (lambda t: re.sub(r"\s*<pubDate>[^<]*</pubDate>", "", t), "pubDate"),
    "item with neither title nor description": (without_title_and_description, "Expected is ( description )"),
    "two titles in an item": (r("<title>Full &amp;", "<title>Again</title><title>Full &amp;"), "title"),
    "two enclosures": (lambda t: re.sub(r"(<enclosure [^>]*/>)", r"\1\1", t, count=1), "enclosure"),
    "enclosure length not a number": (r('length="10"', 'length="ten"'), "length"),
    "enclosure without type": (r(' type="image/jpeg"/>', "/>"), "'type'"),
    "unknown element": (r("<title>Full &amp; complete", "<bogus>x</bogus><title>Full &amp; complete"), "bogus"),
    "element from another namespace out of place": (
        r("<guid ", '<media:content xmlns:media="http://search.yahoo.com/mrss/" url="https://e.org/p.jpg"/><guid '),
        "mrss/}content"),
    "no language": (lambda t: re.sub(r"\s*<language>[^<]*</language>", "", t), "language"),
    "no channel title": (r("<title>wirepub wire</title>", ""), "title"),
    "version 0.91": (r('<rss version="2.0"', '<rss version="0.91"'), "version"),
    "empty dc:creator": (r("<dc:creator>By Someone</dc:creator>", "<dc:creator></dc:creator>"), "creator"),
}


@pytest.mark.parametrize("case", RSS_BREAKS)
def test_rss_profile_refuses(runtime, case):
    breaking, why = RSS_BREAKS[case]
    text = render("rss", ["full"]).decode()
    broken = breaking(text)
    assert broken != text
    error = refused(runtime, "rss", broken.encode())
    assert why in error.message, error.message


@pytest.mark.parametrize("date,ok", [
    ("Wed, 25 Nov 2026 08:00:00 +0000", True),
    ("Wed, 25 Nov 2026 08:00:00 GMT", True),
    ("Wed, 02 Oct 2002 08:00:00 EST", True),
    ("25 Nov 2026 08:00 -0500", True),          # day of week and seconds are optional in RFC 822
    ("Wed, 25 Nov 26 08:00:00 +0000", False),   # two-digit year
    ("Wed, 25 Nov 2026 08:00:00 Z", False),     # military zone (RFC 1123 5.2.14: wrong sign)
    ("Wed, 25 Nov 2026 08:00:00 +00:00", False),
    ("Wed, 25 nov 2026 08:00:00 +0000", False),
    ("Wed,  25 Nov 2026 08:00:00 +0000", False),
    ("Wed, 25 Nov 2026 24:00:00 +0000", False),
    ("Mer, 25 Nov 2026 08:00:00 +0000", False),
])
def test_rss_dates_are_rfc_822_with_four_digit_years(date, ok):
    text = replace_once(render("rss", ["minimal"]).decode(), "<pubDate>Wed, 25 Nov 2026 08:00:00 +0000",
                        f"<pubDate>{date}")
    errors = xml_errors(SCHEMAS / "rss-2.0.xsd", text.encode())
    assert (errors == []) is ok, errors


# --- JSON Feed 1.1: what our profile refuses ----------------------------------------------------

def item0(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def change(feed: dict[str, Any]) -> None:
        for key, value in changes.items():
            if value is None:
                del feed["items"][0][key]
            else:
                feed["items"][0][key] = value
    return change


JSONFEED_BREAKS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "wrong version": (lambda f: f.update(version="https://jsonfeed.org/version/1"), "version"),
    "no feed_url": (lambda f: f.pop("feed_url"), "feed_url"),
    "relative home_page_url": (lambda f: f.update(home_page_url="/"), "home_page_url"),
    "unknown top-level key": (lambda f: f.update(surprise=1), "surprise"),
    "deprecated author": (lambda f: f.update(author={"name": "x"}), "author"),
    "item without id": (item0(id=None), "id"),
    "item id not a string": (item0(id=7), "items/0/id"),
    "date without offset": (item0(date_modified="2026-11-25T08:00:00"), "items/0/date_modified"),
    "date with a space": (item0(date_published="2026-11-25 08:00:00Z"), "items/0/date_published"),
    "item without content": (item0(content_html=None), "content_html"),
    "unknown item key": (item0(surprise=1), "surprise"),
    "empty author": (item0(authors=[{}]), "items/0/authors/0"),
    "attachment without mime_type": (item0(attachments=[{"url": "https://e.org/a.mp3"}]), "mime_type"),
    "tag not a string": (item0(tags=[1]), "items/0/tags/0"),
    "bad language": (item0(language="english!"), "items/0/language"),
    "extension not starting with a letter": (item0(_1x={}), "_1x"),
    "extension not an object": (item0(_wirepub="x"), "items/0/_wirepub"),
    "extension member with a dot": (item0(_wirepub={"a.b": 1}), "items/0/_wirepub"),
}


@pytest.mark.parametrize("case", JSONFEED_BREAKS)
def test_jsonfeed_profile_refuses(runtime, case):
    breaking, why = JSONFEED_BREAKS[case]
    feed = json.loads(render("jsonfeed", ["full"]))
    before = json.dumps(feed)
    breaking(feed)
    assert json.dumps(feed) != before
    data = json.dumps(feed, indent=2, ensure_ascii=False).encode()
    error = refused(runtime, "jsonfeed", data)
    assert why in error.message, error.message
    assert error.line is not None and 1 <= error.line <= data.count(b"\n") + 1


def test_jsonfeed_extensions_are_accepted_everywhere_the_spec_allows_them(runtime):
    feed = json.loads(render("jsonfeed", ["full"]))
    ext = {"about": "https://wirepub.example/jsonfeed-extension"}
    feed["_wirepub"] = ext
    feed["authors"][0]["_wirepub"] = ext
    feed["items"][0]["_wirepub"] = ext
    feed["items"][0]["attachments"][0]["_wirepub"] = ext
    data = json.dumps(feed, indent=2).encode()
    runtime.check(data, get_format("jsonfeed"), story="ext")
    assert json_errors(official(OFFICIAL_JSONFEED), data) == []


def test_not_well_formed_xml_is_reported_with_its_line(runtime):
    error = refused(runtime, "rss", b'<?xml version="1.0"?>\n<rss version="2.0">\n<channel>\n</rss>')
    assert error.line == 4 and "not well-formed" in str(error)
