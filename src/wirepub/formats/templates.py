"""What the formats share: templates, and dates as each standard wants them.

Templates are compiled once per change, not once per process: the environment reloads a template whose
file changed (Jinja2's auto_reload compares modification times), and keeps compiled bytecode in a cache,
so a running daemon picks up an edited partner template at its next render. XML and HTML templates are
autoescaped; plain-text ones (the kill notice, the correction line) are not, because the format that
carries their text escapes it once, where it puts it.
"""

from __future__ import annotations

import re
import tempfile
from datetime import UTC, date, datetime
from email.utils import format_datetime
from functools import cache
from pathlib import Path

import babel
import jinja2
from babel.dates import format_skeleton

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
    # A partner's own template may extend one of ours ({% extends "rss-2.0.xml.j2" %}): its folder first.
    own = templates_dir().resolve()
    folders = [str(folder)] + ([str(own)] if folder != own else [])
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders),
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


_KILL_PREFIX = re.compile(r"^\s*kill\s*[:\-]\s*", re.IGNORECASE)


def kill_headline(story: Story) -> str:
    """The headline without a "KILL:" the desk may already have put in front of it."""
    return _KILL_PREFIX.sub("", story.headline)


def kill_notice(story: Story, override: Path | None) -> str:
    """The kill notice as plain text (the format that carries it escapes it once, where it puts it). A headline
    the desk already marked "KILL: ..." is not marked twice."""
    return render_text("kill-notice.txt.j2", override, headline=kill_headline(story),
                       story_id=story.id, note=story.withdrawal_note or "")


def correction_line(story: Story, override: Path | None) -> str:
    return render_text("correction.txt.j2", override, version=story.version, story_id=story.id,
                       note=story.correction or "")


def released_at(story: Story) -> datetime:
    """The date a feed gives a story version: its embargo time when it was embargoed (it was not public
    before), else its version time."""
    return max(story.version_created, story.embargo) if story.embargo else story.version_created


def rfc3339(dt: datetime) -> str:
    """2026-11-25T10:00:00+00:00: NewsML-G2 and JSON Feed dates (keeps the story's own offset)."""
    return dt.isoformat(timespec="seconds")


def rfc822(dt: datetime) -> str:
    """Wed, 25 Nov 2026 10:00:00 +0000: RSS 2.0 dates, four-digit years (RSS Best Practices)."""
    return format_datetime(dt.astimezone(UTC))


def item_url(story: Story, pattern: str | None) -> str | None:
    return story.url or (pattern.replace("{id}", story.id) if pattern else None)


# --- dates in the story's language (Babel) -------------------------------------------------------------

_SEPARATORS = {"ar": "، ", "fa": "، ", "ur": "، ", "ja": "、", "zh": "，"}
_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_EXTENDED_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _locale(language: str) -> babel.Locale:
    try:
        return babel.Locale.parse(language.replace("-", "_"))
    except (ValueError, babel.UnknownLocaleError):
        try:
            return babel.Locale.parse(language.split("-")[0])
        except (ValueError, babel.UnknownLocaleError):
            return babel.Locale.parse("en")


def local_date(day: date, language: str) -> str:
    """A day as a dateline gives it in the story's language: "Nov 29", "29 novembre", "11月29日", "٢٩ نوفمبر"."""
    loc = _locale(language)
    text = str(format_skeleton("MMMd" if loc.language == "en" else "MMMMd", day, locale=loc))
    numbering = loc.default_numbering_system
    if loc.language == "ar" and not loc.territory:
        numbering = "arab"   # CLDR's bare "ar" says latn; Arabic desks east of the Maghreb write ٢٩
    if numbering == "arab":
        text = text.translate(_ARABIC_DIGITS)
    elif numbering == "arabext":
        text = text.translate(_EXTENDED_DIGITS)
    return text


def local_dateline(place: str, country: str | None, day: date | None, language: str) -> str:
    """PLACE, Country, date with the language's own separator and date words ("عمّان، الأردن، ٢٩ نوفمبر",
    "東京、11月29日", "PARIS, France, 29 novembre")."""
    sep = _SEPARATORS.get(language.split("-")[0].lower(), ", ")
    parts = [place.upper(), *([country] if country else []), *([local_date(day, language)] if day else [])]
    return sep.join(parts)
