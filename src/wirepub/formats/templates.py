"""What the formats share: templates, and dates as each standard wants them.

Templates are compiled once per change, not once per process: the environment reloads a template whose
file changed (Jinja2's auto_reload compares modification times), and keeps compiled bytecode in a cache,
so a running daemon picks up an edited partner template at its next render. XML and HTML templates are
autoescaped; plain-text ones (the kill notice, the correction line) are not, because the format that
carries their text escapes it once, where it puts it.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cache
from pathlib import Path

import jinja2

from wirepub.errors import RenderError
from wirepub.resources import templates_dir
from wirepub.story import Story

KILL_NOTICE = "kill-notice"      # the names under which a partner may override the notices (partners.templates)
CORRECTION = "correction"


@cache
def _bytecode_cache() -> jinja2.BytecodeCache | None:
    try:
        folder = Path(tempfile.gettempdir()) / "wirepub-jinja"
        folder.mkdir(mode=0o700, exist_ok=True)
        return jinja2.FileSystemBytecodeCache(str(folder))
    except OSError:
        return None  # a read-only temp dir: compile in memory only


@cache
def _environment(folder: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("xml.j2", "html.j2", "xml", "html"), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=True,
        bytecode_cache=_bytecode_cache(),
    )


def template(name: str, override: Path | None = None) -> jinja2.Template:
    """The project's template `name`, or a partner's own copy of it (reloaded when its file changes)."""
    folder, file = _where(name, override)
    try:
        return _environment(folder).get_template(file)
    except jinja2.TemplateError as exc:
        raise RenderError(f"template {folder / file} cannot be loaded: {exc}") from None


@cache
def _where(name: str, override: Path | None) -> tuple[Path, str]:
    """The folder (resolved once, not on every render) and file name of a template."""
    folder, file = (override.parent, override.name) if override else (templates_dir(), name)
    return folder.resolve(), file


def render_template(tpl: jinja2.Template, **data: object) -> bytes:
    try:
        return tpl.render(**data).encode("utf-8")
    except jinja2.TemplateError as exc:
        raise RenderError(f"template {tpl.filename} failed: {exc}") from None


def render_text(name: str, override: Path | None, **data: object) -> str:
    """A plain-text template (a notice) as one trimmed string."""
    try:
        return template(name, override).render(**data).strip()
    except jinja2.TemplateError as exc:
        raise RenderError(f"template {override or name} failed: {exc}") from None


def rfc3339(dt: datetime) -> str:
    """2026-11-25T10:00:00+00:00: NewsML-G2 and JSON Feed dates (keeps the story's own offset)."""
    return dt.isoformat(timespec="seconds")


def rfc822(dt: datetime) -> str:
    """Wed, 25 Nov 2026 10:00:00 +0000: RSS 2.0 dates, four-digit years (RSS Best Practices)."""
    return format_datetime(dt.astimezone(UTC))


def item_url(story: Story, pattern: str | None) -> str | None:
    return story.url or (pattern.replace("{id}", story.id) if pattern else None)
