"""`wirepub init`: a starter configuration and stories folder, so a newsroom starts from something that runs."""

from __future__ import annotations

from pathlib import Path

from wirepub.errors import ConfigError
from wirepub.formats import registry as formats

STARTER_CONFIG = """\
# wirepub configuration. Every key is optional; the values shown are the defaults unless marked "example".
# Reference: schemas/config.schema.json (docs/configuration.md).

[source]
path = "stories"          # the hot folder: .json, .md (front matter) and .txt stories
rejected = "rejected"     # bad files are moved here (inside the hot folder), with a .error.txt each
language = "en"           # for stories that do not say

[store]
url = "sqlite:///.wirepub/wirepub.db"   # or postgresql+psycopg://user@host/db

[provider]
id = "wirepub.example"    # your domain: story guids are urn:newsml:{id}:{story id}
name = "wirepub"
url = "https://wirepub.example/"
# copyright_holder = "Example News Ltd"              (example)
# copyright_notice = "(c) 2026 Example News Ltd"     (example)

[channel]                 # what the RSS and JSON feeds say about themselves
title = "wirepub wire"
description = "Latest stories"
link = "https://wirepub.example/"
language = "en"
max_items = 50
public_url = "https://wirepub.example/wire/"   # where partners read the destination's files
# item_url = "https://wirepub.example/news/{id}" (example) web page of a story without its own url

# [validation]                                   (example) official schemas, checked as well as ours
# newsml_g2_xsd = "/path/to/NewsML-G2_2.35-spec-All-Power.xsd"

[[partners]]
name = "local"
formats = [{formats}]
destinations = ["public"]  # a folder; file:///abs/path works too
# templates = { "newsml-g2" = "my-templates/newsml-g2.xml.j2" }   (example) this partner's own template
"""

STARTER_STORY = """\
---
id: welcome-to-wirepub
headline: wirepub is set up
byline: The wirepub desk
language: en
urgency: 5
subjects:
  - name: media
    code: medtop:01000000
keywords: [wirepub]
summary: A first story, to see every format wirepub makes.
---
This story came from **stories/welcome-to-wirepub.md**. Edit it, or drop more stories next to it, and run
`wirepub push` again.

An edited story goes out as its next version; identical content is not sent twice.
"""


def starter_config() -> str:
    """The starter configuration, naming every format wirepub knows (the format registry's)."""
    return STARTER_CONFIG.replace("{formats}", ", ".join(f'"{name}"' for name in formats.names()))


def write_starter(directory: Path) -> list[Path]:
    config = directory / "wirepub.toml"
    story = directory / "stories" / "welcome-to-wirepub.md"
    for path in (config, story):
        if path.exists():
            raise ConfigError(f"{path} exists already; wirepub init never overwrites a file")
    story.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(starter_config(), encoding="utf-8")
    story.write_text(STARTER_STORY, encoding="utf-8")
    return [config, story]
