"""Reviewers' findings: colon genres, body attribute values the XHTML profile refuses, story URL and name rules.

Every body the sanitiser passes must validate: each tricky input below is rendered through NewsML-G2 and checked
with the same Validator wirepub runs before delivering.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest

from wirepub.config import build_config
from wirepub.formats import RenderContext, get_format
from wirepub.sanitize import clean_body
from wirepub.story import story_from_document
from wirepub.validate import Validator

CONFIG = build_config({}, base_dir=Path("."), path=None)
CTX = RenderContext(CONFIG.provider, CONFIG.channel, feed_path="feeds/rss.xml")
MINIMAL: dict[str, Any] = {"id": "r-1", "headline": "Fixes", "body": "Plain text.",
                           "version_created": "2026-11-25T08:00:00Z"}
STORY_SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "story.schema.json"


def newsml(doc: dict[str, Any]) -> str:
    data = get_format("newsml-g2").render(story_from_document({**MINIMAL, **doc}, origin="t.json"), CTX)
    Validator().check(data, get_format("newsml-g2"), story="r-1")
    return str(data.decode())


# --- genre -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("genre", "expected"), [
    ("genre:Current", '<genre qcode="genre:Current"/>'),
    ("my-genres.v2:Analysis_1", '<genre qcode="my-genres.v2:Analysis_1"/>'),
    ("Analysis: politics", "<genre><name>Analysis: politics</name></genre>"),
    ("Analysis", "<genre><name>Analysis</name></genre>"),
    ("1genre:x", "<genre><name>1genre:x</name></genre>"),
    ("genre:", "<genre><name>genre:</name></genre>"),
    (":Current", "<genre><name>:Current</name></genre>"),
    ("Q&A: live", "<genre><name>Q&amp;A: live</name></genre>"),
])
def test_genre_is_a_qcode_only_when_it_looks_like_one(genre: str, expected: str) -> None:
    assert expected in newsml({"genre": genre})


# --- body attribute values ------------------------------------------------------------------------

# (input body, a piece the output must contain, a piece it must not)
TRICKY: list[tuple[str, str | None, str | None]] = [
    ("<table><tr><td colspan='wide'>x</td></tr></table>", "<td>x</td>", "colspan"),
    ("<table><tr><td colspan='0'>x</td></tr></table>", "<td>x</td>", "colspan"),
    ("<table><tr><td colspan='-2'>x</td></tr></table>", "<td>x</td>", "colspan"),
    ("<table><tr><td colspan=' 2 '>x</td></tr></table>", 'colspan="2"', None),
    ("<table><tr><td colspan='+3'>x</td></tr></table>", 'colspan="3"', None),
    ("<table><tr><td colspan=''>x</td></tr></table>", "<td>x</td>", "colspan"),
    ("<table><tr><td colspan='2.5'>x</td></tr></table>", "<td>x</td>", "colspan"),
    ("<table><tr><th rowspan='0' scope='row'>x</th></tr></table>", 'rowspan="0"', None),
    ("<table><tr><th rowspan='all'>x</th></tr></table>", "<th>x</th>", "rowspan"),
    ("<table><tr><td rowspan='-1'>x</td></tr></table>", "<td>x</td>", "rowspan"),
    ("<table><tr><td rowspan='99999999999999999999'>x</td></tr></table>", 'rowspan="99999999999999999999"', None),
    ("<ol start='a'><li>x</li></ol>", "<ol><li>x</li></ol>", "start"),
    ("<ol start='-3'><li>x</li></ol>", 'start="-3"', None),
    ("<ol start='iv'><li>x</li></ol>", "<ol><li>x</li></ol>", "start"),
    ("<ol start='0'><li>x</li></ol>", 'start="0"', None),
    ("<p><a href='HTTPS://E.org/x'>l</a></p>", 'href="https://E.org/x"', "HTTPS:"),
    ("<p><a href='Http://e.org/'>l</a></p>", 'href="http://e.org/"', None),
    ("<p><a href='MAILTO:desk@e.org'>l</a></p>", 'href="mailto:desk@e.org"', None),
    ("<p><a href='mailto:'>l</a></p>", "<a", "href"),
    ("<p><a href='MAILTO:'>l</a></p>", "<a", "href"),
    ("<p><a href='https:'>l</a></p>", "<a", "href"),
    ("<p><a href='javascript:alert(1)'>l</a></p>", "<a", "href"),
    ("<p><a href='/relative'>l</a></p>", "<a", "href"),
    ("<p><a href='ftp://e.org/f'>l</a></p>", "<a", "href"),
    ("<p><a href='  https://e.org/  '>l</a></p>", 'href="https://e.org/', None),
    ("<p><a href=''>l</a></p>", "<a", "href"),
    ("<p><a href='https://e.org/a b'>l</a></p>", "<a", None),
    ("<figure><img src='HTTPS://e.org/i.png' alt='a'></figure>", 'src="https://e.org/i.png"', None),
    ("<figure><img src='data:image/png;base64,AAAA' alt='a'></figure>", "<img", "src"),
    ("<figure><img src='mailto:' alt='a'></figure>", "<img", "src"),
    ("<blockquote cite='HTTP://e.org/q'>q</blockquote>", 'cite="http://e.org/q"', None),
    ("<blockquote cite='mailto:'>q</blockquote>", "<blockquote>q</blockquote>", "cite"),
    ("<p><q cite='nonsense'>q</q></p>", "<q>q</q>", "cite"),
    ("<p><a href='https://e.org/?a=1&amp;b=2' hreflang='en'>l</a></p>", "a=1&amp;b=2", None),
    ("<p><a href='https://e.org/\u00e9t\u00e9'>l</a></p>", "<a", None),
]


@pytest.mark.parametrize(("body", "present", "absent"), TRICKY)
def test_every_body_the_sanitiser_passes_validates(body: str, present: str | None, absent: str | None) -> None:
    xhtml = clean_body(body, "html").xhtml
    if present:
        assert present in xhtml
    if absent:
        assert absent not in xhtml
    newsml({"body": body})  # raises DocumentInvalid if the profile refuses it


def test_markdown_links_with_odd_schemes_validate() -> None:
    newsml({"body_format": "markdown", "body": "[a](HTTPS://e.org/) [b](mailto:) [c](MAILTO:x@e.org) <ol start=x>"})


# --- story schema: URLs and names ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def story_schema() -> jsonschema.protocols.Validator:
    import json

    schema = json.loads(STORY_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize(("doc", "ok"), [
    ({"url": "https://e.org/x"}, True),
    ({"url": "HTTPS://e.org/x"}, True),
    ({"url": "Http://e.org/"}, True),
    ({"url": "https://"}, False),
    ({"url": "https://e.org/a b"}, False),
    ({"url": "ftp://e.org/"}, False),
    ({"url": "https://e.org/\n"}, False),
    ({"media": [{"url": "HTTP://e.org/p.jpg"}]}, True),
    ({"media": [{"url": "http://e.org/p .jpg"}]}, False),
    ({"authors": [{"name": "Ann", "url": "https://e.org/ann"}]}, True),
    ({"authors": [{"name": "Ann", "url": "mailto:ann@e.org"}]}, False),
    ({"authors": [{"name": "   "}]}, False),
    ({"authors": [{"name": ""}]}, False),
    ({"byline": " \t"}, False),
    ({"byline": "By Ann"}, True),
    ({"subjects": [{"name": " "}]}, False),
])
def test_story_urls_and_names(story_schema: jsonschema.protocols.Validator, doc: dict[str, Any], ok: bool) -> None:
    errors = list(story_schema.iter_errors({**MINIMAL, **doc}))
    assert (not errors) == ok, errors
