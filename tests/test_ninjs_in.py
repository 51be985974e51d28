"""ninjs 1.x, 2.x and 3.x into the story contract (sources/ninjs.py), told apart by content; the documents are
shaped as each version's schema (../shared/standards/ninjs) and Superdesk's NINJSFormatter write them."""

from __future__ import annotations

import json

import pytest

from conftest import shared_path
from wirepub.errors import StoryError
from wirepub.sources.ninjs import is_ninjs, ninjs_major, story_document, story_id_of
from wirepub.story import contract_errors, story_from_document

NINJS_1 = {"uri": "urn:example:1", "version": "1", "type": "text", "headline": "One", "body_html": "<p>1</p>",
           "versioncreated": "2026-11-25T10:00:00+0000", "pubstatus": "usable", "language": "fr",
           "subject": [{"code": "04000000", "name": "economy"}], "urgency": 3, "located": "Lyon"}
NINJS_2 = {"uri": "urn:example:2", "version": "2", "headlines": [{"value": "Two", "role": "main"}],
           "bodies": [{"value": "Plain two.", "role": "main"}], "descriptions": [{"value": "Summary two"}],
           "versioncreated": "2026-11-25T10:00:00Z", "embargoed": "2026-11-26T06:00:00Z"}
NINJS_3 = {"uri": "urn:example:3", "standard": {"name": "ninjs", "version": "3.0"},
           "headlines": [{"value": "Three"}], "bodies": [{"value": "<p>3</p>", "contentType": "text/html"}],
           "versionCreated": "2026-11-25T10:00:00Z", "pubStatus": "canceled",
           "associations": [{"name": "featureimage", "type": "picture", "renditions": [
               {"name": "thumb", "href": "https://img.example/t.jpg", "width": 100},
               {"name": "original", "href": "https://img.example/o.jpg", "width": 2000, "height": 1000,
                "contentType": "image/jpeg"}]}]}


@pytest.mark.parametrize(("doc", "major"), [(NINJS_1, 1), (NINJS_2, 2), (NINJS_3, 3)])
def test_each_version_is_told_by_content_and_maps_to_a_good_story(doc, major):
    assert is_ninjs(doc) and ninjs_major(doc) == major
    mapped = story_document(doc, origin="test")
    assert contract_errors(mapped, "test") == []
    story = story_from_document(mapped, origin="test")
    assert story.id == story_id_of(doc["uri"]) == doc["uri"].replace(":", "-")


def test_what_each_maps_to():
    one = story_document(NINJS_1, origin="t")
    assert one["version"] == 1 and one["language"] == "fr" and one["dateline"] == {"place": "Lyon"}
    assert one["subjects"] == [{"name": "economy", "code": "subj:04000000"}]
    assert one["version_created"] == "2026-11-25T10:00:00+00:00"
    two = story_document(NINJS_2, origin="t")
    assert two["body"] == "Plain two." and "body_format" not in two and two["summary"] == "Summary two"
    assert two["embargo"] == "2026-11-26T06:00:00Z"
    three = story_document(NINJS_3, origin="t")
    assert three["status"] == "withdrawn"
    assert three["media"] == [{"url": "https://img.example/o.jpg", "type": "image/jpeg", "width": 2000,
                               "height": 1000}]


def test_the_story_contract_is_not_taken_for_ninjs():
    assert not is_ninjs({"id": "a", "headline": "H", "body": "B"})


def test_what_cannot_be_mapped_names_its_ninjs_field():
    with pytest.raises(StoryError) as no_uri:
        story_document({"headline": "x"}, origin="t")
    assert no_uri.value.field == "uri"
    with pytest.raises(StoryError) as withheld:
        story_document({**NINJS_1, "pubstatus": "withheld"}, origin="t")
    assert withheld.value.field == "pubstatus"
    with pytest.raises(StoryError) as version:
        story_document({**NINJS_1, "version": "v-two"}, origin="t")
    assert version.value.field == "version"


def test_a_long_uri_keeps_its_end_and_a_hash():
    sid = story_id_of("urn:newsml:" + "x" * 300 + ":tail")
    assert len(sid) <= 128 and "tail" in sid


def test_superdesk_2_5_3_output():
    doc = json.loads(shared_path("examples", "superdesk-2.5.3-ninjs-text-with-picture.json").read_text())
    mapped = story_document(doc, origin="t", assets_url="https://wire.example/assets/")
    story = story_from_document(mapped, origin="t")
    assert story.version == 3 and story.embargo is not None and story.byline == "By Jane Reporter"
    assert [m.url for m in story.media] == ["https://wire.example/assets/abc123"]
    assert story.copyright_holder == "Example Media" and story.slug == "budget-vote"
