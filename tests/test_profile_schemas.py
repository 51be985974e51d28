"""Our profile schemas accept what the formats make, and refuse what must never leave the building.
The official schemas (IPTC NewsML-G2 XSD, the JSON Feed 1.1 schema) are checked in test_corpus.py and here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wirepub.config import build_config
from wirepub.errors import DocumentInvalid
from wirepub.formats import RenderContext, get_format
from wirepub.story import story_from_document
from wirepub.validate import Validator

CTX = RenderContext(*(lambda c: (c.provider, c.channel))(build_config({}, base_dir=Path("."), path=None)),
                    feed_path="feeds/x")
FULL = {
    "id": "full-story", "version": 2, "headline": "Full & complete <story>", "subheadline": "Sub",
    "slug": "FULL-STORY", "summary": "Summary.", "body": "<p>Body <a href='https://e.org/'>link</a></p>",
    "byline": "By Someone", "authors": [{"name": "Some One", "url": "https://e.org/someone"}],
    "dateline": {"place": "Paris", "country": "France", "date": "2026-11-25"}, "language": "fr",
    "subjects": [{"name": "politics", "code": "medtop:11000000"}, "plain"], "keywords": ["k1", "k2"],
    "genre": "genre:Current", "urgency": 1, "embargo": "2026-11-25T09:00:00+01:00",
    "first_created": "2026-11-25T07:00:00Z", "version_created": "2026-11-25T08:00:00Z",
    "credit": "Agency", "sources": ["AFP"], "copyright_holder": "Holder", "copyright_notice": "(c) Holder",
    "usage_terms": "None", "url": "https://e.org/full", "ednote": "Note", "correction": "Fixed a name.",
    "media": [{"url": "https://e.org/p.jpg", "type": "image/jpeg", "caption": "Cap", "size": 10,
               "width": 10, "height": 10}],
}
MINIMAL = {"id": "m", "headline": "H", "body": "Text.", "version_created": "2026-11-25T08:00:00Z"}
VARIANTS = {
    "minimal": MINIMAL,
    "full": FULL,
    "withdrawn": {**MINIMAL, "version": 3, "status": "withdrawn", "withdrawal_note": "Legal."},
    "update": {**MINIMAL, "version": 2},
    "arabic": {**MINIMAL, "language": "ar", "headline": "عنوان", "body": "نص الخبر."},
    "genre-by-name": {**MINIMAL, "genre": "Analysis"},
}


@pytest.fixture(scope="module")
def ours() -> Validator:
    return Validator()


def render(fmt_name: str, doc: dict) -> bytes:
    story = story_from_document(doc, origin="t")
    fmt = get_format(fmt_name)
    return fmt.render([story], CTX) if fmt.kind == "feed" else fmt.render(story, CTX)


def check(validator: Validator, fmt_name: str, data: bytes) -> None:
    validator.check(data, format_name=fmt_name, profile=get_format(fmt_name).schema, story="t")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("fmt_name", ["newsml-g2", "rss", "jsonfeed"])
def test_every_variant_is_valid_against_our_profile(ours, fmt_name, variant):
    check(ours, fmt_name, render(fmt_name, VARIANTS[variant]))


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_is_valid_against_the_official_schemas(official_newsml_xsd, official_jsonfeed_schema,
                                                             variant):
    official = Validator({"newsml-g2": official_newsml_xsd, "jsonfeed": official_jsonfeed_schema})
    check(official, "newsml-g2", render("newsml-g2", VARIANTS[variant]))
    check(official, "jsonfeed", render("jsonfeed", VARIANTS[variant]))


def broken_newsml(old: str, new: str) -> bytes:
    text = render("newsml-g2", FULL).decode()
    assert old in text, f"the template no longer contains {old!r}; update this test"
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize("old,new,why", [
    ("<p>Body ", "<p><script>alert(1)</script>Body ", "script element"),
    ("<p>Body ", '<p onclick="x()">Body ', "event handler"),
    ("<p>Body ", '<p style="color:red">Body ', "style attribute"),
    ("<p>Body ", '<iframe src="https://e.org/"></iframe><p>Body ', "iframe"),
    ("href=\"https://e.org/\"", "href=\"javascript:evil()\"", "javascript link"),
    ('<pubStatus qcode="stat:usable"/>', '<pubStatus qcode="stat:foo"/>', "unknown status"),
    ("<versionCreated>2026-11-25T08:00:00+00:00", "<versionCreated>2026-11-25T08:00:00", "no offset"),
    ('<signal qcode="sig:correction"/>', '<signal qcode="sig:whatever"/>', "unknown signal"),
    ("<urgency>1</urgency>", "<urgency>10</urgency>", "urgency out of range"),
    ('standardversion="2.35"', 'standardversion="2.34"', "wrong standard version"),
])
def test_newsml_profile_refuses(ours, old, new, why):
    with pytest.raises(DocumentInvalid) as info:
        check(ours, "newsml-g2", broken_newsml(old, new))
    assert info.value.line is not None and info.value.line > 1, why


def test_newsml_profile_refuses_embargoed_after_pub_status(ours):
    text = render("newsml-g2", FULL).decode()
    embargoed = next(line for line in text.splitlines() if "<embargoed>" in line)
    moved = text.replace(embargoed + "\n", "").replace('<pubStatus qcode="stat:usable"/>',
                                                       '<pubStatus qcode="stat:usable"/>\n' + embargoed)
    with pytest.raises(DocumentInvalid, match="embargoed"):
        check(ours, "newsml-g2", moved.encode())


@pytest.mark.parametrize("old,new", [
    ("Wed, 25 Nov 2026", "Wed, 25 Nov 26"),
    ('<atom:link href="https://wirepub.example/wire/feeds/x" rel="self" type="application/rss+xml"/>', ""),
    ('<guid isPermaLink="false">', "<guid>"),
    ("<title>Full &amp; complete", "<bogus>x</bogus><title>Full &amp; complete"),
    ('length="10"', 'length="ten"'),
])
def test_rss_profile_refuses(ours, old, new):
    text = render("rss", FULL).decode()
    assert old in text, f"the template no longer contains {old!r}; update this test"
    with pytest.raises(DocumentInvalid) as info:
        check(ours, "rss", text.replace(old, new, 1).encode())
    assert info.value.format == "rss"


@pytest.mark.parametrize("mutate,field", [
    (lambda f: f.update(version="https://jsonfeed.org/version/1"), "version"),
    (lambda f: f["items"][0].pop("id"), "items/0"),
    (lambda f: f["items"][0].update(date_modified="2026-11-25T08:00:00"), "items/0/date_modified"),
    (lambda f: f["items"][0].update(surprise=1), "items/0"),
])
def test_jsonfeed_profile_refuses_and_names_the_line(ours, mutate, field):
    feed = json.loads(render("jsonfeed", FULL))
    mutate(feed)
    data = json.dumps(feed, indent=2, ensure_ascii=False).encode()
    with pytest.raises(DocumentInvalid) as info:
        check(ours, "jsonfeed", data)
    assert info.value.message.startswith(field)
    assert info.value.line is not None and 1 <= info.value.line <= data.count(b"\n") + 1


def test_not_well_formed_xml_is_reported_with_its_line(ours):
    with pytest.raises(DocumentInvalid) as info:
        check(ours, "rss", b'<?xml version="1.0"?>\n<rss version="2.0">\n<channel>\n</rss>')
    assert info.value.line == 4 and "not well-formed" in str(info.value)
