"""ninjs (IPTC's JSON for news): one document per story version, built as data and serialised, in 3.x
(camelCase names, the default 3.1) or 2.1 (lower-case names), as the partner's ninjs_version asks.

`uri` is the story's URN, the same for every version; `version` counts versions; a kill is pubStatus
"canceled" with the kill notice as its only body; pictures travel as associations (type picture, with a
rendition per size). Checked against our profile (schemas/ninjs-profile.schema.json) and, where configured
(validation.ninjs_schemas: the folder of IPTC's schemas), the official schema of the version the document says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wirepub.formats import RenderContext, Sniffed
from wirepub.formats.feeditems import MEDIATOPIC
from wirepub.formats.fieldmap import apply_map
from wirepub.formats.jsondoc import dumps
from wirepub.formats.templates import CORRECTION, KILL_NOTICE, correction_line, kill_notice, rfc3339
from wirepub.story import Media, Story
from wirepub.vocabulary import FormatKind

VERSIONS = ("2.1", "3.0", "3.1")
DEFAULT_VERSION = "3.1"
SCHEMA_URI = "http://www.iptc.org/std/ninjs/ninjs-schema_{}.json#"
GENRE = "http://cv.iptc.org/newscodes/genre/"
# 2.x spells these differently from the lower-cased 3.x name.
_V2_NAMES = {"embargoedUntil": "embargoed"}


class Ninjs:
    name = "ninjs"
    kind = FormatKind.ITEM
    media_type = "application/ninjs+json"
    extension = "json"
    schema = "ninjs-profile.schema.json"
    template = None   # JSON is built as data and serialised; a partner reshapes it with a field map
    standard = "ninjs"

    @staticmethod
    def check_standard(doc: Any) -> str | None:
        """ninjs' one must (IPTC's schema, where configured, says the rest): a uri."""
        return None if isinstance(doc, dict) and isinstance(doc.get("uri"), str) else "a ninjs object needs a uri"

    def sniff(self, doc: Sniffed) -> bool:
        return doc.head.startswith(b"{") and b"ninjs" in doc.head and b'"uri"' in doc.head

    @staticmethod
    def official_schema(folder: Path, doc: Any) -> Path:
        """IPTC's schema of the version this document says it is."""
        version = DEFAULT_VERSION
        if isinstance(doc, dict) and isinstance(doc.get("standard"), dict):
            version = str(doc["standard"].get("version", DEFAULT_VERSION))
        return folder / f"ninjs-schema_{version}.json"

    def render(self, story: Story, ctx: RenderContext) -> bytes:
        version = str(ctx.options.get("ninjs_version", DEFAULT_VERSION))
        doc = build(story, ctx, version)
        if version.startswith("2."):
            doc = _lower(doc)
        doc = apply_map(doc, ctx.field_map, story, ctx.provider.guid(story.id))
        # Indented, so that a schema error can name its line; partners' parsers do not care.
        return dumps(doc)


def build(s: Story, ctx: RenderContext, version: str) -> dict[str, Any]:
    notes = [s.ednote] if s.ednote else []
    bodies = [{"value": s.body_xhtml, "contentType": "application/xhtml+xml", "role": "main"}]
    descriptions = [{"value": s.summary, "role": "summary", "contentType": "text/plain"}] if s.summary else []
    if s.withdrawn:
        notice = kill_notice(s, ctx.templates.get(KILL_NOTICE))
        notes.append(notice)
        bodies = [{"value": notice, "contentType": "text/plain", "role": "main"}]   # the text must not travel on
        descriptions = []
    elif s.correction:
        notes.append(correction_line(s, ctx.templates.get(CORRECTION)))
    headlines = [{"value": s.headline, "role": "main"}]
    if s.subheadline:
        headlines.append({"value": s.subheadline, "role": "sub"})
    doc: dict[str, Any] = {
        "uri": ctx.provider.guid(s.id),
        "standard": {"name": "ninjs", "version": version, "schema": SCHEMA_URI.format(version)},
        "type": "text",
        "version": str(s.version),
        "firstCreated": rfc3339(s.first_created),
        "versionCreated": rfc3339(s.version_created),
        "embargoedUntil": rfc3339(s.embargo) if s.embargo else None,
        "pubStatus": "canceled" if s.withdrawn else "usable",
        "urgency": s.urgency,
        "copyrightHolder": s.copyright_holder,
        "copyrightNotice": s.copyright_notice,
        "usageTerms": s.usage_terms,
        "edNote": " ".join(notes) or None,
        "language": s.language,
        "headlines": headlines,
        "descriptions": descriptions or None,
        "bodies": bodies,
        "subjects": [_subject(sub.name, sub.code) for sub in s.subjects] or None,
        "genres": [_genre(s.genre)] if s.genre else None,
        "by": s.byline or ", ".join(a.name for a in s.authors) or None,
        "people": [{"name": a.name, "rel": "author", **({"uri": a.url} if a.url else {})} for a in s.authors] or None,
        "infoSources": [{"name": src, "role": "source"} for src in s.sources] or None,
        "slugline": s.slug,
        "located": _located(s),
        "associations": None if s.withdrawn else [_picture(i, m, s, ctx) for i, m in enumerate(s.media, 1)] or None,
    }
    return {k: v for k, v in doc.items() if v is not None}


def _subject(name: str, code: str | None) -> dict[str, str]:
    out = {"name": name}
    if code and code.startswith("medtop:"):
        out["uri"] = MEDIATOPIC + code.removeprefix("medtop:")
    elif code:
        out["literal"] = code
    return out


def _genre(genre: str) -> dict[str, str]:
    if genre.startswith("genre:"):
        return {"name": genre.removeprefix("genre:"), "uri": GENRE + genre.removeprefix("genre:")}
    return {"name": genre}


def _located(s: Story) -> str | None:
    if not s.dateline:
        return None
    return s.dateline.place + (f", {s.dateline.country}" if s.dateline.country else "")


def _picture(i: int, m: Media, s: Story, ctx: RenderContext) -> dict[str, Any]:
    url = ctx.media_url(m.url, m.sha256)
    original = {"name": "original", "href": url, "contentType": m.type, "width": m.width, "height": m.height,
                "sizeInBytes": m.size}
    renditions = [{k: v for k, v in original.items() if v is not None}]
    for n, r in enumerate(m.renditions, 1):
        rendition = {"name": r.name or f"rendition{n}", "href": r.url, "contentType": r.type, "width": r.width,
                     "height": r.height, "sizeInBytes": r.size}
        renditions.append({k: v for k, v in rendition.items() if v is not None})
    picture: dict[str, Any] = {
        "name": f"picture{i}" if i > 1 else "featuremedia",
        "uri": f"{ctx.provider.guid(s.id)}:media:{m.sha256 or i}",
        "type": "picture" if m.is_image else "component",
        "headlines": [{"value": m.caption}] if m.caption else None,
        "descriptions": [{"value": m.alt, "role": "alt"}] if m.alt else None,
        "by": m.credit,
        "renditions": renditions,
    }
    return {k: v for k, v in picture.items() if v is not None}


def _lower(node: Any) -> Any:
    """3.x names to 2.x's (versionCreated -> versioncreated, embargoedUntil -> embargoed)."""
    if isinstance(node, dict):
        return {_V2_NAMES.get(k, k.lower()): _lower(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_lower(v) for v in node]
    return node
