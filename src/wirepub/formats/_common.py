"""What the formats share: templates compiled once, and dates as each standard wants them."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cache
from pathlib import Path

import jinja2

from wirepub.errors import RenderError
from wirepub.resources import templates_dir
from wirepub.story import Story


@cache
def _environment(folder: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,                 # every template here is XML: escape everything not marked safe
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def template(name: str, override: Path | None = None) -> jinja2.Template:
    """The project's template `name`, or a partner's own copy of it; compiled once per process."""
    folder, file = (override.parent, override.name) if override else (templates_dir(), name)
    try:
        return _environment(folder.resolve()).get_template(file)
    except jinja2.TemplateError as exc:
        raise RenderError(f"template {folder / file} cannot be loaded: {exc}") from None


def render_template(tpl: jinja2.Template, **data: object) -> bytes:
    try:
        return tpl.render(**data).encode("utf-8")
    except jinja2.TemplateError as exc:
        raise RenderError(f"template {tpl.filename} failed: {exc}") from None


def rfc3339(dt: datetime) -> str:
    """2026-11-25T10:00:00+00:00: NewsML-G2 and JSON Feed dates (keeps the story's own offset)."""
    return dt.isoformat(timespec="seconds")


def rfc822(dt: datetime) -> str:
    """Wed, 25 Nov 2026 10:00:00 +0000: RSS 2.0 dates, four-digit years (RSS Best Practices)."""
    return format_datetime(dt.astimezone(UTC))


def item_url(story: Story, pattern: str | None) -> str | None:
    return story.url or (pattern.replace("{id}", story.id) if pattern else None)

