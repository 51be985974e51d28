"""The story contract: what a story is, and what is refused with file, field and reason."""

from __future__ import annotations

import pytest

from wirepub.errors import StoryError
from wirepub.story import story_from_document


def refused(doc: dict, field: str) -> StoryError:
    with pytest.raises(StoryError) as info:
        story_from_document(doc, origin="stories/x.json")
    assert info.value.file == "stories/x.json"
    assert info.value.field == field, str(info.value)
    return info.value


def test_a_full_story_is_read(story_doc):
    story = story_from_document(story_doc(
        version=3, byline="Ann Reporter", urgency=2, keywords=["a", "b"],
        subjects=[{"name": "economy", "code": "medtop:04000000"}, "plain subject"],
        dateline={"place": "Deir Ezzor", "date": "2017-11-19"}, embargo="2026-11-26T06:00:00+01:00",
        media=[{"url": "https://example.org/a.jpg", "type": "image/jpeg", "size": 1200}],
    ), origin="x.json")
    assert story.version == 3 and story.status == "approved"
    assert story.subjects[0].code == "medtop:04000000" and story.subjects[1].code is None
    assert story.dateline is not None and story.dateline.place == "Deir Ezzor"
    assert story.embargo is not None and story.embargo.utcoffset() is not None
    assert story.body_xhtml == "<p>First paragraph.</p><p>Second paragraph.</p>"


def test_missing_headline_names_the_field(story_doc):
    refused(story_doc(headline=None), "headline")


def test_blank_headline_is_refused(story_doc):
    refused(story_doc(headline="   "), "headline")


@pytest.mark.parametrize("bad_id", ["../x", "a/b", ".hidden", "a..b", "", "x" * 200, "é"])
def test_ids_that_could_escape_a_folder_are_refused(story_doc, bad_id):
    refused(story_doc(id=bad_id), "id")


@pytest.mark.parametrize("embargo", ["2026-11-26T06:00:00", "2026-11-26", "tomorrow", "2026-13-01T06:00:00Z"])
def test_embargo_without_offset_or_unparseable_is_refused(story_doc, embargo):
    error = refused(story_doc(embargo=embargo), "embargo")
    assert embargo in str(error)


def test_xml_forbidden_characters_are_refused_with_their_place(story_doc):
    error = refused(story_doc(body="fine\x0bnot fine"), "body")
    assert "U+000B" in str(error)
    refused(story_doc(keywords=["ok", "bad\x00"]), "keywords[1]")


def test_ten_megabyte_body_is_refused(story_doc):
    error = refused(story_doc(body="a" * (10 * 1024 * 1024)), "body")
    assert "more than the 1,000,000 allowed" in str(error)


def test_unknown_fields_are_refused_not_dropped(story_doc):
    error = refused(story_doc(headlin="typo"), "document")
    assert "headlin" in str(error)


def test_urgency_out_of_range(story_doc):
    refused(story_doc(urgency=0), "urgency")


def test_script_style_and_event_handlers_are_stripped_and_reported(story_doc):
    story = story_from_document(story_doc(body=(
        '<p onclick="steal()">Text<script>alert(1)</script></p><style>p{}</style>'
        '<a href="javascript:evil()">link</a><img src="https://e.org/i.jpg" onerror="x()">'
        '<iframe src="https://e.org"></iframe>')), origin="x.json")
    for gone in ("script", "alert", "style", "onclick", "onerror", "javascript", "iframe"):
        assert gone not in story.body_xhtml
    assert "Text" in story.body_xhtml and 'src="https://e.org/i.jpg"' in story.body_xhtml
    assert story.warnings and all(w in story.warnings[0] for w in ("<script>", "onclick", "<iframe>"))


def test_markdown_and_plain_bodies_become_paragraphs(story_doc):
    md = story_from_document(story_doc(body="Hello *world*\n\n- one", body_format="markdown"), origin="x.md")
    assert md.body_xhtml == "<p>Hello <em>world</em></p><ul>\n<li>one</li>\n</ul>"
    text = story_from_document(story_doc(body="One\nline.\n\nTwo <b> & c"), origin="x.txt")
    assert text.body_xhtml == "<p>One line.</p><p>Two &lt;b&gt; &amp; c</p>"


def test_first_created_after_version_created_is_refused(story_doc):
    refused(story_doc(first_created="2026-11-26T10:00:00Z"), "first_created")


def test_content_hash_ignores_version_and_its_time(story_doc):
    a = story_from_document(story_doc(version=1), origin="a")
    b = story_from_document(story_doc(version=2, version_created="2026-11-25T11:00:00Z"), origin="b")
    c = story_from_document(story_doc(headline="Changed"), origin="c")
    assert a.content_hash == b.content_hash != c.content_hash


def test_arabic_is_right_to_left(story_doc):
    assert story_from_document(story_doc(language="ar"), origin="x").direction == "rtl"
    assert story_from_document(story_doc(language="en-GB"), origin="x").direction == "ltr"
