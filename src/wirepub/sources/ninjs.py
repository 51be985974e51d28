"""ninjs 1.x, 2.x and 3.x (IPTC's news in JSON; what Superdesk's NINJSFormatter writes) into the story contract.
Detected by content: a document with a `uri` or `guid` and no story-contract `id` is ninjs. The version is told by
its keys: 3.x writes them in camelCase (versionCreated, pubStatus, embargoedUntil), 2.x and 3.x have `headlines`
and `bodies` arrays, 1.x has `headline` and `body_html`/`body_text`.

What is mapped: uri/guid (the id, made safe), version, headline(s), body_html/body_text/bodies, description(s)
(summary), byline/by, authors, located (dateline), language, subject(s), keywords, genre(s), urgency,
embargoed/embargoedUntil, firstcreated, versioncreated, pubstatus (canceled or withdrawn: a kill; withheld: not for
publication), slugline, ednote, source (credit), the rights fields, and the pictures among the associations (the
original rendition, or the widest). Dates as Superdesk writes them (+0000) get their colon (+00:00). Whatever
else ninjs carries is left out: the story contract judges what is mapped, and its errors name the ninjs field.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from wirepub.errors import StoryError

ID_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
OFFSET_WITHOUT_COLON = re.compile(r"([+-]\d{2})(\d{2})$")
KILLED = {"canceled", "cancelled", "withdrawn"}
PICTURES = {"picture", "image", "graphic"}
MAX_ID = 128


def is_ninjs(doc: Mapping[str, Any]) -> bool:
    """A ninjs document rather than the story contract: it names itself by uri or guid, not by id."""
    return "id" not in doc and any(k in doc for k in ("uri", "guid")) or "$standard" in doc or (
        isinstance(doc.get("standard"), dict) and doc["standard"].get("name") == "ninjs")


def ninjs_major(doc: Mapping[str, Any]) -> int:
    """1, 2 or 3, from the keys a document uses."""
    if any(k in doc for k in ("versionCreated", "pubStatus", "embargoedUntil", "firstCreated", "copyrightHolder",
                              "standard")):
        return 3
    if "headlines" in doc or "bodies" in doc or "descriptions" in doc:
        return 2
    return 1


def story_id_of(uri: str) -> str:
    """A story-contract id from a ninjs uri (urn:newsml:example.test:2024:story-1 -> urn-newsml-example.test-2024-
    story-1): characters an id may not have become '-'; one too long keeps its end and a hash of the whole."""
    safe = ID_CHARS.sub("-", uri).strip("-.")
    safe = re.sub(r"\.{2,}", ".", safe)
    if len(safe) > MAX_ID:
        digest = hashlib.sha1(uri.encode("utf-8")).hexdigest()[:12]   # noqa: S324 (a name, not a secret)
        safe = f"{safe[-(MAX_ID - 13):].lstrip('-.')}-{digest}"
    return safe or "ninjs-" + hashlib.sha1(uri.encode("utf-8")).hexdigest()[:12]   # noqa: S324


def _get(doc: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = doc.get(name)
        if value not in (None, "", [], {}):
            return value
    return None


def _date(value: Any) -> Any:
    if isinstance(value, str):
        return OFFSET_WITHOUT_COLON.sub(r"\1:\2", value.strip())
    return value


def _text_of(items: Any, roles: tuple[str, ...] = ()) -> Any:
    """The value of the first item of a 2.x/3.x array (headlines, bodies, descriptions) whose role is one of
    roles (or, with no roles or none matching, the first item without a role, else the first)."""
    if not isinstance(items, list):
        return None
    dicts = [i for i in items if isinstance(i, dict) and i.get("value") is not None]
    for role in roles:
        for item in dicts:
            if str(item.get("role", "")).lower() == role:
                return item["value"]
    plain = [i for i in dicts if not i.get("role")]
    return (plain or dicts or [{"value": None}])[0]["value"]


def _body(doc: Mapping[str, Any]) -> tuple[Any, str | None]:
    if _get(doc, "body_html") is not None:
        return doc["body_html"], "html"
    bodies = doc.get("bodies")
    if isinstance(bodies, list):
        html = [b for b in bodies if isinstance(b, dict) and "html" in str(b.get("contentType", b.get("contenttype",
                                                                                                       "")))]
        if html:
            return html[0].get("value"), "html"
        value = _text_of(bodies, ("main", "body"))
        return value, None
    if _get(doc, "body_text") is not None:
        return doc["body_text"], "text"
    return None, None


def _subjects(doc: Mapping[str, Any]) -> list[dict[str, str]]:
    out = []
    for s in doc.get("subject") or doc.get("subjects") or []:
        if not isinstance(s, dict) or not (s.get("name") or s.get("code")):
            continue
        entry = {"name": str(s.get("name") or s.get("code"))}
        code, scheme, uri = s.get("code"), s.get("scheme"), s.get("uri")
        if isinstance(code, str) and re.fullmatch(r"\d{8}", code) and scheme in (None, "subject", "iptc"):
            entry["code"] = f"subj:{code}"
        elif isinstance(code, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]*:\S+", code):
            entry["code"] = code
        elif isinstance(uri, str) and "/newscodes/mediatopic/" in uri:
            entry["code"] = "medtop:" + uri.rstrip("/").rsplit("/", 1)[1]
        out.append(entry)
    return out


def _associations(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = doc.get("associations")
    if isinstance(found, dict):
        return [v for _, v in sorted(found.items()) if isinstance(v, dict)]
    if isinstance(found, list):
        return [v for v in found if isinstance(v, dict)]
    return []


def _rendition(item: Mapping[str, Any]) -> Mapping[str, Any] | None:
    renditions = item.get("renditions")
    if isinstance(renditions, dict):
        original = renditions.get("original")
        if isinstance(original, dict):
            return original
        listed = [r for r in renditions.values() if isinstance(r, dict)]
    elif isinstance(renditions, list):
        listed = [r for r in renditions if isinstance(r, dict)]
        named = [r for r in listed if r.get("name") == "original"]
        if named:
            return named[0]
    else:
        return None
    listed = [r for r in listed if r.get("href")]
    return max(listed, key=lambda r: r.get("width") or 0) if listed else None


def _media(doc: Mapping[str, Any], assets_url: str | None) -> list[dict[str, Any]]:
    out = []
    for item in _associations(doc):
        if str(item.get("type", "")).lower() not in PICTURES:
            continue
        rendition = _rendition(item)
        if rendition is None:
            continue
        media_id = rendition.get("media")
        url = f"{assets_url}{media_id}" if assets_url and isinstance(media_id, str) else rendition.get("href")
        if not url:
            continue
        entry: dict[str, Any] = {"url": url}
        kind = rendition.get("mimetype") or rendition.get("contentType") or item.get("mimetype")
        if kind:
            entry["type"] = kind
        caption = _get(item, "description_text", "body_text", "headline") or _text_of(item.get("descriptions"))
        if caption:
            entry["caption"] = caption
        credit = _get(item, "byline", "by", "copyrightholder", "copyrightHolder")
        if credit:
            entry["credit"] = credit
        for key in ("width", "height"):
            if isinstance(rendition.get(key), int) and rendition[key] > 0:
                entry[key] = rendition[key]
        out.append(entry)
    return out


def story_document(doc: Mapping[str, Any], *, origin: str, assets_url: str | None = None) -> dict[str, Any]:
    """The story-contract document for a ninjs one. Raises StoryError (field named as in ninjs) for what cannot be
    mapped at all; the contract judges the rest."""
    uri = _get(doc, "uri", "guid")
    if not isinstance(uri, str):
        raise StoryError("missing: a ninjs document needs its uri (or Superdesk's guid)", file=origin, field="uri")
    status = str(_get(doc, "pubstatus", "pubStatus") or "usable").lower()
    if status == "withheld":
        raise StoryError("pubstatus is withheld: not for publication (send it again as usable)", file=origin,
                         field="pubstatus")
    out: dict[str, Any] = {"id": story_id_of(uri)}
    version = doc.get("version")
    if isinstance(version, int) or (isinstance(version, str) and version.strip().isdigit()):
        out["version"] = int(version)
    elif version is not None:
        raise StoryError(f"{version!r} is not a version number (1, 2, ...)", file=origin, field="version")
    if status in KILLED:
        out["status"] = "withdrawn"
    out.update(_texts(doc))
    out.update(_metadata(doc, assets_url))
    if out.get("status") == "withdrawn" and not out["body"]:
        out["body"] = ""
    return {k: v for k, v in out.items() if v is not None}

def _texts(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Headline, subheadline, body and summary, from ninjs 1.x's flat fields or 2.x/3.x's lists."""
    out: dict[str, Any] = {}
    headline = _get(doc, "headline") or _text_of(doc.get("headlines"), ("main", "headline"))
    out["headline"] = headline if headline is not None else _get(doc, "slugline") or ""
    sub = _text_of([h for h in doc.get("headlines") or [] if isinstance(h, dict) and h.get("role")],
                   ("subheadline", "sub", "subhead")) if isinstance(doc.get("headlines"), list) else None
    if sub and sub != out["headline"]:
        out["subheadline"] = sub
    body, body_format = _body(doc)
    out["body"] = body if body is not None else ""
    if body_format is not None and body is not None:
        out["body_format"] = body_format
    summary = _get(doc, "description_text") or _text_of(doc.get("descriptions"), ("summary", "abstract"))
    if summary:
        out["summary"] = summary
    return out


SIMPLE = {"byline": ("byline", "by"), "language": ("language",), "keywords": ("keywords",),
          "urgency": ("urgency",), "slug": ("slugline",), "ednote": ("ednote", "edNote"),
          "credit": ("source", "creditline"), "copyright_holder": ("copyrightholder", "copyrightHolder"),
          "copyright_notice": ("copyrightnotice", "copyrightNotice"), "usage_terms": ("usageterms", "usageTerms")}
DATES = {"embargo": ("embargoed", "embargoedUntil"), "first_created": ("firstcreated", "firstCreated"),
         "version_created": ("versioncreated", "versionCreated")}


def _metadata(doc: Mapping[str, Any], assets_url: str | None) -> dict[str, Any]:
    """Everything but the texts: the simple fields, times, dateline, authors, subjects, genre, pictures."""
    out: dict[str, Any] = {}
    for name, keys in SIMPLE.items():
        value = _get(doc, *keys)
        if value is not None:
            out[name] = value
    for name, keys in DATES.items():
        value = _get(doc, *keys)
        if value is not None:
            out[name] = _date(value)
    located = _get(doc, "located")
    if isinstance(located, str):
        out["dateline"] = {"place": located}
    authors = [{"name": a["name"], **({"role": a["role"]} if a.get("role") else {})}
               for a in doc.get("authors") or [] if isinstance(a, dict) and a.get("name")]
    if authors:
        out["authors"] = authors
    subjects = _subjects(doc)
    if subjects:
        out["subjects"] = subjects
    genres = doc.get("genre") or doc.get("genres")
    if isinstance(genres, list) and genres and isinstance(genres[0], dict):
        out["genre"] = genres[0].get("name") or genres[0].get("code")
    media = _media(doc, assets_url)
    if media:
        out["media"] = media
    return out

