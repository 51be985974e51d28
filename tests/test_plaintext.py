"""Raw plain text as a newsroom really receives it: headline, preamble, dateline, body, boilerplate, sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from wirepub.sources.plaintext import parse_plain_text

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "examples"
LONG = "Officials said on Tuesday that the talks would resume next week, after a pause that " \
       "both delegations blamed on the other side's last-minute demands."
assert len(LONG) >= 120


@pytest.fixture(scope="module")
def albukamal_text() -> str:
    path = EXAMPLES / "albukamal-raw.txt"
    if not path.is_file():
        pytest.skip(f"{path} is absent: this test needs the shared examples beside the repository")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def albukamal(albukamal_text: str) -> dict[str, object]:
    return parse_plain_text(albukamal_text, name="albukamal-raw")


def body_of(doc: dict[str, object]) -> str:
    body = doc["body"]
    assert isinstance(body, str)
    return body


# The real example -----------------------------------------------------------------------------------------

def test_the_example_headline_dateline_credit_and_sources(albukamal: dict[str, object]) -> None:
    assert albukamal["id"] == "albukamal-raw"
    assert albukamal["headline"] == "Syrian Army drive out Islamic State and retakes Albukamal City"
    assert albukamal["dateline"] == {"place": "Deir Ezzor"}
    assert albukamal["credit"] == "Syria News"
    assert albukamal["sources"] == ["AFP", "SANA", "SOHR"]
    assert albukamal["body_format"] == "text"
    # Only the keys a plain-text source can know; the caller adds version, status, language and times.
    assert set(albukamal) == {"id", "headline", "body", "body_format", "dateline", "credit", "sources"}


def test_the_example_body_is_the_story_and_nothing_else(albukamal: dict[str, object]) -> None:
    body = body_of(albukamal)
    assert body.startswith("Syrian army forces and their allied militias")
    assert body.endswith("large areas of Iraq and Syria.")
    for not_story in ("Leave a Reply", "Your email address", "Syrian Civil War", "Airstrike and artillery",
                      "Yemen: Battles", "islamic state news", "Syrian army troops.", "Deir Ezzor (Syria News)"):
        assert not_story not in body
    paragraphs = body.split("\n\n")
    assert len(paragraphs) == 9  # counted in the file: from "Deir Ezzor (Syria News)" to "It is noteworthy"
    assert all(p and p == p.strip() and "\n" not in p for p in paragraphs)
    assert paragraphs[4].startswith("Meanwhile, SANA news reported that")


def test_the_example_follows_the_story_contract(albukamal: dict[str, object]) -> None:
    schema = json.loads((REPO / "schemas" / "story.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in Draft202012Validator(schema).iter_errors(albukamal)]
    assert errors == []


def test_the_example_with_windows_line_endings_and_a_bom_parses_the_same(
        albukamal_text: str, albukamal: dict[str, object]) -> None:
    windows = "\ufeff" + albukamal_text.replace("\r\n", "\n").replace("\n", "  \r\n")
    assert parse_plain_text(windows, name="albukamal-raw") == albukamal


# Small cases ----------------------------------------------------------------------------------------------

def test_crlf_line_endings() -> None:
    doc = parse_plain_text("Head line \r\n\r\nFirst line\r\nsame paragraph.\r\n\r\nSecond.\r\n", name="x")
    assert doc["headline"] == "Head line"
    assert doc["body"] == "First line same paragraph.\n\nSecond."


def test_old_mac_line_endings() -> None:
    doc = parse_plain_text("Head\r\rFirst line\rsame paragraph.\r\rSecond.", name="x")
    assert doc["headline"] == "Head"
    assert doc["body"] == "First line same paragraph.\n\nSecond."


def test_a_leading_bom_is_dropped() -> None:
    doc = parse_plain_text("\ufeffHead\n\nText.", name="x")
    assert doc["headline"] == "Head"
    assert doc["body"] == "Text."


def test_no_dateline_means_no_dateline_and_no_credit() -> None:
    doc = parse_plain_text(f"Head\n\nsection tag\n\n{LONG}\n\nSecond paragraph.", name="x")
    assert "dateline" not in doc and "credit" not in doc
    assert doc["body"] == f"{LONG}\n\nSecond paragraph."  # the short preamble line is dropped


def test_a_short_dateline_paragraph_starts_the_body_after_the_preamble() -> None:
    doc = parse_plain_text("Head\n\nworld news\nA photo caption.\n\nCAIRO (MENA) — Short text.\n\nMore.", name="x")
    assert doc["dateline"] == {"place": "CAIRO"} and doc["credit"] == "MENA"
    assert doc["body"] == "Short text.\n\nMore."


def test_without_dateline_or_long_paragraph_the_body_starts_after_the_headline() -> None:
    doc = parse_plain_text("Head\n\nShort one.\n\nShort two.", name="x")
    assert doc["body"] == "Short one.\n\nShort two."


def test_place_country_outlet_and_dash() -> None:
    doc = parse_plain_text("Head\r\n\r\nPARIS, France (AP) — The text goes on.", name="x")
    assert doc["dateline"] == {"place": "PARIS", "country": "France"}
    assert doc["credit"] == "AP"
    assert doc["body"] == "The text goes on."


def test_place_and_dash_without_outlet() -> None:
    doc = parse_plain_text("Head\n\nLONDON — The text goes on.", name="x")
    assert doc["dateline"] == {"place": "LONDON"}
    assert "credit" not in doc
    assert doc["body"] == "The text goes on."


@pytest.mark.parametrize("opening, place, credit", [
    ("São Paulo (Folha de S.Paulo) - Text.", "São Paulo", "Folha de S.Paulo"),
    ("N'Djamena (AFP) Text.", "N'Djamena", "AFP"),
    ("St. John's (CBC) – Text.", "St. John's", "CBC"),
    ("BERLIN (dpa) — Text.", "BERLIN", "dpa"),
])
def test_places_with_diacritics_apostrophes_dots_and_lowercase_agencies(opening: str, place: str,
                                                                         credit: str) -> None:
    doc = parse_plain_text(f"Head\n\n{opening}", name="x")
    assert doc["dateline"] == {"place": place}
    assert doc["credit"] == credit
    assert doc["body"] == "Text."


def test_a_dateline_alone_above_the_text() -> None:
    doc = parse_plain_text("Head\n\nLONDON (Reuters) -\n\nThe text.", name="x")
    assert doc["dateline"] == {"place": "LONDON"} and doc["credit"] == "Reuters"
    assert doc["body"] == "The text."


@pytest.mark.parametrize("opening", [
    "Officials (who asked not to be named) said the talks had failed.",
    "Officials said the talks had failed (again) on Monday.",
    "the army (SANA) — said nothing.",
    "Five Big Words Here Too Many (AP) — text.",
])
def test_an_ordinary_sentence_is_not_a_dateline(opening: str) -> None:
    doc = parse_plain_text(f"Head\n\n{opening}", name="x")
    assert "dateline" not in doc and "credit" not in doc
    assert doc["body"] == opening


def test_a_later_paragraph_is_not_taken_for_a_dateline() -> None:
    doc = parse_plain_text(f"Head\n\n{LONG}\n\nMr Smith (Labour) said he disagreed.", name="x")
    assert "dateline" not in doc and "credit" not in doc
    assert doc["body"] == f"{LONG}\n\nMr Smith (Labour) said he disagreed."


@pytest.mark.parametrize("marker", [
    "Leave a Reply", "leave a comment", "COMMENTS", "Related", "Related Posts", "Related Articles:",
    "Share this:", "Share this", "Like this:", "Post navigation", "You may also like", "Read more",
    "  Your email address will not be published. Required fields are marked *",
])
def test_the_body_ends_at_site_boilerplate(marker: str) -> None:
    doc = parse_plain_text(f"Head\n\nFirst.\nStill first.\n{marker}\n\nOther headline\n\nAnother one", name="x")
    assert doc["body"] == "First. Still first."


def test_a_boilerplate_word_inside_a_paragraph_does_not_cut_it() -> None:
    doc = parse_plain_text("Head\n\nRelated reports said more.\n\nComments were closed.", name="x")
    assert doc["body"] == "Related reports said more.\n\nComments were closed."


def test_sources_in_order_of_first_appearance_each_once() -> None:
    text = ("Head\n\nThe army advanced, a commander told the AFP. According to the UN, 300 fled. "
            "Syrian state TV reported gains. REUTERS said nothing. AFP said more.\n\n"
            "the SOHR explained the rest, and SANA news reported it; the Islamic State said otherwise.")
    assert parse_plain_text(text, name="x")["sources"] == ["AFP", "UN", "SOHR", "SANA"]


def test_no_sources_key_when_none_is_cited() -> None:
    doc = parse_plain_text("Head\n\nThe NATO summit opened; the EU and IS were mentioned.", name="x")
    assert "sources" not in doc


def test_a_headline_alone_has_no_body_key() -> None:
    assert parse_plain_text("Only a headline\n\n", name="x") == {"id": "x", "headline": "Only a headline"}


@pytest.mark.parametrize("name, expected", [
    ("Albukamal Raw!!", "albukamal-raw"),
    ("..a..b..", "a.b"),
    ("_draft__2017", "draft__2017"),
    ("2017-11-19 Syria: Albukamal.TXT", "2017-11-19-syria-albukamal.txt"),
    ("x" * 200, "x" * 128),
])
def test_ids_from_file_names(name: str, expected: str) -> None:
    assert parse_plain_text("Head\n\nText.", name=name)["id"] == expected


def test_a_name_without_letters_or_digits_is_an_error() -> None:
    with pytest.raises(ValueError, match="story id"):
        parse_plain_text("Head\n\nText.", name="!!!")


@pytest.mark.parametrize("text", ["", " \n\n \t", "\ufeff\r\n\r\n", "\u00a0\n"])
def test_empty_input_is_an_error(text: str) -> None:
    with pytest.raises(ValueError, match="headline"):
        parse_plain_text(text, name="x")
