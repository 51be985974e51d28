"""The hot folder's three kinds of file, and raw text as a newsroom really receives it."""

from __future__ import annotations

import pytest

from conftest import shared_path
from wirepub.sources.plaintext import parse_plain_text, slug_id
from wirepub.story import story_from_document


@pytest.fixture
def albukamal() -> str:
    return shared_path("examples", "albukamal-raw.txt").read_text(encoding="utf-8")


def test_the_raw_albukamal_article(albukamal):
    doc = parse_plain_text(albukamal, name="albukamal-raw")
    assert doc["headline"] == "Syrian Army drive out Islamic State and retakes Albukamal City"
    assert doc["dateline"] == {"place": "Deir Ezzor"}
    assert doc["credit"] == "Syria News"
    assert doc["sources"] == ["AFP", "SANA", "SOHR"]
    body = doc["body"]
    assert body.startswith("Syrian army forces and their allied militias")
    assert body.endswith("large areas of Iraq and Syria.")
    for boilerplate in ("Leave a Reply", "Your email address", "Airstrike and artillery", "Yemen: Battles",
                        "islamic state news", "Syrian army troops.", "Deir Ezzor (Syria News)"):
        assert boilerplate not in body
    assert len(body.split("\n\n")) == 9
    story = story_from_document({**doc, "version_created": "2017-11-19T12:00:00Z"}, origin="albukamal-raw.txt")
    assert story.body_xhtml.count("<p>") == 9


def test_the_shipped_example_is_that_story(albukamal):
    import json

    from conftest import REPO

    shipped = json.loads((REPO / "examples/stories/2017-11-19-syria-albukamal.json").read_text())
    parsed = parse_plain_text(albukamal, name="x")
    assert shipped["body"] == parsed["body"]
    assert shipped["dateline"]["place"] == parsed["dateline"]["place"]
    assert shipped["sources"] == parsed["sources"] and shipped["credit"] == parsed["credit"]


@pytest.mark.parametrize("text,dateline,credit,body", [
    ("Head\r\n\r\nPARIS, France (AP) — The text.", {"place": "PARIS", "country": "France"}, "AP", "The text."),
    ("\ufeffHead\n\nLONDON — Text here.", {"place": "LONDON"}, None, "Text here."),
    ("Head\n\nOfficials (who asked not to be named) said so.", None, None,
     "Officials (who asked not to be named) said so."),
    ("Head\n\nPlain opening without a dateline.", None, None, "Plain opening without a dateline."),
])
def test_datelines(text, dateline, credit, body):
    doc = parse_plain_text(text, name="x")
    assert doc["headline"] == "Head"
    assert doc.get("dateline") == dateline and doc.get("credit") == credit and doc["body"] == body


def test_ids_from_file_names():
    assert slug_id("Albukamal Raw!!") == "albukamal-raw"
    assert slug_id("..a..b..") == "a.b"
    with pytest.raises(ValueError):
        slug_id("!!!")


def test_empty_text_is_an_error():
    with pytest.raises(ValueError, match="headline"):
        parse_plain_text(" \n\n ", name="x")


def test_markdown_text_and_json_stories_in_one_folder(workspace):
    workspace.drop("one.md", "---\nid: md-story\nheadline: From Markdown\nkeywords: [a]\n---\nHello *there*.\n")
    workspace.drop("two.txt", "From text\n\nBERLIN (dpa) — A paragraph long enough to be a body.\n")
    workspace.drop("three.json", '\ufeff{"id": "js", "headline": "From JSON", "body": "Hi"}')
    report = workspace.push()
    assert report.ok, [str(r.error) for r in report.rejected] + report.failures
    assert sorted(i for i, _ in report.released) == ["js", "md-story", "two"]
    assert b"<em>there</em>" in workspace.read("items/md-story/v1.xml")
    two = workspace.read("items/two/v1.xml").decode()
    assert "<located><name>BERLIN</name></located>" in two and "<creditline>dpa</creditline>" in two


def test_front_matter_dates_are_judged_as_written(workspace):
    workspace.drop("e.md", "---\nid: e\nheadline: H\nembargo: 2026-11-26 06:00:00\n---\nBody\n")
    report = workspace.push()
    assert [r.error.field for r in report.rejected] == ["embargo"]


def test_files_being_written_are_left_alone(workspace):
    workspace.drop(".incoming.json", '{"id": "x"')
    workspace.drop("draft.json~", "{")
    workspace.drop("notes.docx", "binary")
    report = workspace.push()
    assert report.ok and report.released == [] and report.rejected == []
    assert (workspace.stories / ".incoming.json").exists()
