"""Configuration that would hurt is refused at load, naming what and where (issue 10, items 7 and 11)."""

from __future__ import annotations

import pytest

from wirepub.config import build_config
from wirepub.errors import ConfigError


def load(tmp_path, **raw):  # type: ignore[no-untyped-def]
    return build_config(raw, base_dir=tmp_path, path=None)


def test_two_partners_writing_the_same_feed_are_refused_naming_both(tmp_path):
    """Before: sport and politics sharing `public` overwrote each other's rss.xml while the ledger said both
    were delivered."""
    with pytest.raises(ConfigError, match=r"partners sport and politics would both write feeds/rss.xml"):
        load(tmp_path, partners=[{"name": "sport", "destinations": ["public"], "formats": ["rss"]},
                                 {"name": "politics", "destinations": ["./public/"], "formats": ["rss"]}])


def test_two_partners_writing_the_same_items_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="items/story-1/v1.xml"):
        load(tmp_path, partners=[{"name": "a", "destinations": ["s3://wire/out"], "formats": ["newsml-g2"]},
                                 {"name": "b", "destinations": ["s3://wire/out/"], "formats": ["newsml-g2"]}])


@pytest.mark.parametrize("partners", [
    [{"name": "a", "destinations": ["public"], "formats": ["rss"]},
     {"name": "b", "destinations": ["public"], "formats": ["rss"], "paths": {"feed": "b/{format}.{ext}"}}],
    [{"name": "a", "destinations": ["public"], "formats": ["rss"]},
     {"name": "b", "destinations": ["public"], "formats": ["newsml-g2"]}],
    [{"name": "a", "destinations": ["one"]}, {"name": "b", "destinations": ["two"]}],
])
def test_partners_that_share_a_place_but_not_a_path_are_fine(tmp_path, partners):
    assert len(load(tmp_path, partners=partners).partners) == 2


@pytest.mark.parametrize(("key", "value"), [
    ("base_delay", 1e12), ("max_delay", 1e12), ("max_age", 1e300), ("max_attempts", 10**9),
    ("concurrency", 10**6),
])
def test_every_number_has_an_upper_bound(tmp_path, key, value):
    """Before: base_delay = 1e12 killed the deliverer thread with OverflowError."""
    with pytest.raises(ConfigError, match=rf"key delivery.{key}"):
        load(tmp_path, delivery={key: value})


@pytest.mark.parametrize("layout", ["{ext:.0}../{id}/{version}", "{id!r}/{version}.{ext}", "a/{id}/{version}..{ext}/..",
                                    "/abs/{id}/{version}.{ext}", "{id}//{version}.{ext}"])
def test_the_path_layout_check_cannot_be_bypassed(tmp_path, layout):
    """Before: {ext:.0}../ rendered as ../ and passed the check."""
    with pytest.raises(ConfigError, match="partners.0.paths.item"):
        load(tmp_path, partners=[{"name": "p", "destinations": ["x"], "paths": {"item": layout}}])


def test_destinations_differing_only_in_query_values_are_refused(tmp_path):
    """The ledger keeps https://h/in?channel=*** for both; one of them would never get a document."""
    with pytest.raises(ConfigError, match=r"partners.0.destinations.*query values"):
        load(tmp_path, partners=[{"name": "p", "formats": ["newsml-g2"],
                                  "destinations": ["https://h.example/in?channel=sport",
                                                   "https://h.example/in?channel=politics"]}])
