"""539 real Wikinews stories (English, Japanese, French, Arabic) through every format, checked against our
profiles and the official schemas. Needs ../shared/corpus and ../shared/standards (skipped where absent)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from conftest import shared_path
from wirepub.config import build_config
from wirepub.formats import RenderContext, get_format
from wirepub.story import Story
from wirepub.validate import Validator
from wirepub_testkit.corpus import corpus_stories


@pytest.fixture(scope="module")
def corpus() -> list[tuple[dict, Story]]:
    return corpus_stories(shared_path("corpus", "wikinews.jsonl"))


@pytest.fixture(scope="module")
def checker() -> Validator:
    official = {"newsml-g2": shared_path("standards", "newsml-g2", "NewsML-G2_2.35-spec-All-Power.xsd")}
    jsonfeed = sorted(shared_path("standards", "jsonfeed").glob("*.json"))
    if jsonfeed:
        official["jsonfeed"] = jsonfeed[0]
    official["ninjs"] = shared_path("standards", "ninjs", "schemas")
    official["atom"] = shared_path("standards", "atom", "atom-rfc4287.rng")
    return Validator(official)


@pytest.fixture(scope="module")
def ctx() -> RenderContext:
    config = build_config({}, base_dir=Path("."), path=None)
    return RenderContext(config.provider, config.channel, feed_path="feeds/x")


def test_every_corpus_story_maps_to_the_contract(corpus):
    assert len(corpus) == 539
    languages = {s.language for _, s in corpus}
    assert languages == {"en", "ja", "fr", "ar"}


def test_every_story_renders_valid_newsml_g2(corpus, checker, ctx):
    fmt = get_format("newsml-g2")
    assert len(checker.schemas_for(fmt)) == 2  # ours and the IPTC XSD
    for _, story in corpus:
        checker.check(fmt.render(story, ctx), get_format(fmt.name), story=story.id)


@pytest.mark.parametrize("version", ["2.1", "3.0", "3.1"])
def test_every_story_renders_valid_ninjs_against_iptc_schemas(corpus, checker, ctx, version):
    fmt = get_format("ninjs")
    ctx = replace(ctx, options={"ninjs_version": version})
    for _, story in corpus:
        data = fmt.render(story, ctx)
        assert len(checker.schemas_for(fmt, json.loads(data))) == 2
        checker.check(data, fmt, story=story.id)


@pytest.mark.parametrize("name", ["rss", "jsonfeed", "atom", "news-sitemap"])
def test_every_story_renders_valid_feeds(corpus, checker, ctx, name):
    fmt = get_format(name)
    stories = [s for _, s in corpus]
    for start in range(0, len(stories), 50):
        checker.check(fmt.render(stories[start:start + 50], ctx), get_format(name),
                      story=f"corpus[{start}:]")


def test_arabic_text_survives_exactly_with_its_language(corpus, ctx):
    arabic = [(raw, s) for raw, s in corpus if raw["lang"] == "ar"]
    assert len(arabic) == 55
    newsml, feed = get_format("newsml-g2"), get_format("jsonfeed")
    for raw, story in arabic:
        doc = etree.fromstring(newsml.render(story, ctx))
        assert doc.get("{http://www.w3.org/XML/1998/namespace}lang") == "ar"
        html = doc.find(".//{http://www.w3.org/1999/xhtml}html")
        assert html.get("dir") == "rtl"
        text = "".join(html.find("{http://www.w3.org/1999/xhtml}body").itertext())
        head = doc.find(".//{http://iptc.org/std/nar/2006-10-01/}headline").text
        assert head == " ".join(raw["headline"].split())
        for paragraph in raw["body"].split("\n\n"):
            assert " ".join(paragraph.split()) in " ".join(text.split())
        item = json.loads(feed.render([story], ctx))["items"][0]
        assert item["language"] == "ar" and item["title"] == head
