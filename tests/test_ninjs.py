"""ninjs 2.1 and 3.x (issue 12, item 1): one document per story version, checked against IPTC's own schemas
(through jsonschema-rs) and their test suite; uri stable, kills canceled, pictures as associations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import shared_path
from formats_helpers import item, story
from wirepub.errors import DocumentInvalid
from wirepub.formats import get_format
from wirepub.validate import Validator


def ninjs(ninjs_version: str = "3.1", **fields: object) -> dict:
    return json.loads(item("ninjs", story(**fields), {"partners": [{"name": "p", "destinations": ["x"],
                                                                    "ninjs_version": ninjs_version}]}))


def test_a_3x_document_says_what_the_issue_lists():
    doc = ninjs(subjects=[{"name": "Disasters", "code": "medtop:03000000"}], genre="genre:Current",
                authors=[{"name": "A. Writer"}], summary="Out by noon.", embargo="2026-11-25T11:00:00Z",
                sources=["Reuters"], dateline={"place": "Piraeus", "country": "Greece"})
    assert doc["uri"] == "urn:newsml:wirepub.example:harbour-fire"
    assert doc["standard"] == {"name": "ninjs", "version": "3.1",
                               "schema": "http://www.iptc.org/std/ninjs/ninjs-schema_3.1.json#"}
    assert doc["version"] == "1" and doc["pubStatus"] == "usable" and doc["language"] == "en"
    assert doc["versionCreated"] == doc["firstCreated"] == "2026-11-25T10:00:00+00:00"
    assert doc["embargoedUntil"] == "2026-11-25T11:00:00+00:00"
    assert doc["headlines"] == [{"value": "Fire in the harbour of Piraeus is out", "role": "main"}]
    assert doc["bodies"][0]["contentType"] == "application/xhtml+xml"
    assert doc["descriptions"] == [{"value": "Out by noon.", "role": "summary", "contentType": "text/plain"}]
    assert doc["subjects"] == [{"name": "Disasters", "uri": "http://cv.iptc.org/newscodes/mediatopic/03000000"}]
    assert doc["genres"] == [{"name": "Current", "uri": "http://cv.iptc.org/newscodes/genre/Current"}]
    assert doc["by"] == "A. Writer" and doc["people"] == [{"name": "A. Writer", "rel": "author"}]
    assert doc["infoSources"] == [{"name": "Reuters", "role": "source"}]
    assert doc["located"] == "Piraeus, Greece"


def test_2_1_uses_its_own_lower_case_names():
    doc = ninjs("2.1", embargo="2026-11-25T11:00:00Z")
    assert doc["standard"]["version"] == "2.1"
    assert {"versioncreated", "firstcreated", "pubstatus", "embargoed"} <= set(doc)
    assert "versionCreated" not in doc and "embargoedUntil" not in doc


def test_the_uri_is_stable_across_versions_and_a_kill_is_canceled_without_its_text():
    first = ninjs()
    kill = ninjs(version=2, status="withdrawn", headline="KILL: Fire in the harbour of Piraeus is out",
                 withdrawal_note="The manager's statement was a hoax.", version_created="2026-11-25T11:00:00Z")
    assert kill["uri"] == first["uri"] and kill["version"] == "2" and kill["pubStatus"] == "canceled"
    assert "One & two" not in json.dumps(kill)
    notice = kill["bodies"][0]["value"]
    assert "The manager's statement was a hoax." in notice and "KILL: KILL" not in notice
    assert notice.count("KILL") == 1


def test_pictures_are_associations_with_a_rendition_per_size():
    doc = ninjs(media=[{"url": "https://img.example/fire.jpg", "type": "image/jpeg", "width": 1200, "height": 800,
                        "size": 123456, "caption": "The quay at dawn", "credit": "Photo: A. Lens", "alt": "Smoke",
                        "renditions": [{"name": "thumbnail", "url": "https://img.example/fire-t.jpg", "width": 120,
                                        "height": 80}]}])
    [picture] = doc["associations"]
    assert picture["type"] == "picture" and picture["by"] == "Photo: A. Lens"
    assert picture["headlines"] == [{"value": "The quay at dawn"}]
    assert picture["renditions"][0] == {"name": "original", "href": "https://img.example/fire.jpg",
                                        "contentType": "image/jpeg", "width": 1200, "height": 800,
                                        "sizeInBytes": 123456}
    assert picture["renditions"][1]["name"] == "thumbnail"


@pytest.mark.parametrize("version", ["3.0", "3.1"])
def test_iptc_test_suite_passes_and_fails_as_it_says(version):
    """IPTC's own should_pass / should_fail examples through our validator's path to the official schema."""
    folder = shared_path("standards", "ninjs", "schemas")
    suite = shared_path("standards", "ninjs", "test_suite", version)
    checker = Validator({"ninjs": folder})
    fmt = get_format("ninjs")
    official = checker.schemas_for(fmt, {"standard": {"version": version}})[1]
    assert official == folder / f"ninjs-schema_{version}.json"
    for example in sorted((suite / "should_pass").glob("*.json")):
        checker.check(example.read_bytes(), fmt, story=example.name, standard_only=True)
    for example in sorted((suite / "should_fail").glob("*.json")):
        with pytest.raises(DocumentInvalid):
            checker.check(example.read_bytes(), fmt, story=example.name, standard_only=True)


def test_a_field_map_that_breaks_the_profile_ships_nothing():
    with pytest.raises(DocumentInvalid, match="headlines"):
        item("ninjs", story(), {"partners": [{"name": "p", "destinations": ["x"],
                                              "field_map": {"ninjs": {"drop": ["headlines"]}}}]})


def test_a_field_map_renames_drops_and_sets(tmp_path: Path):
    doc = json.loads(item("ninjs", story(slug="FIRE"), {"partners": [{"name": "p", "destinations": ["x"], "field_map": {
        "ninjs": {"rename": {"headlines.0.value": "headlines.0.value"}, "drop": ["slugline"],
                  "set": {"altIds": [{"role": "wire", "value": "x"}], "altIds.0.value": "wirepub:{id}:{version}"}}}}]}))
    assert "slugline" not in doc
    assert doc["altIds"] == [{"role": "wire", "value": "wirepub:harbour-fire:1"}]
