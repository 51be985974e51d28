"""The Story model, and turning a story-contract document (schemas/story.schema.json) into one.

A Story is one version of one news item, immutable once read. Everything a format needs is prepared
here once (the body cleaned into XHTML, times parsed), so rendering stays pure and cheap.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import jsonschema
import jsonschema_rs
from jsonschema.exceptions import best_match

from wirepub.errors import StoryError
from wirepub.resources import schema_path
from wirepub.sanitize import BodyTooComplex, clean_body, xml_forbidden_char

TEASER_CHARS = 300
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RTL_LANGUAGES = frozenset({"ar", "arc", "ckb", "dv", "fa", "he", "ks", "ps", "sd", "ug", "ur", "yi"})


@dataclass(frozen=True, slots=True)
class Subject:
    name: str
    code: str | None = None  # IPTC Media Topic qcode, e.g. medtop:16000000


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    role: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Dateline:
    place: str
    country: str | None = None
    date: date | None = None


@dataclass(frozen=True, slots=True)
class Rendition:
    url: str
    name: str | None = None
    type: str | None = None
    width: int | None = None
    height: int | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Media:
    """A picture (or other medium) of the story. A local file (file, sha256) has no URL of its own: each
    partner's renderer gives it the address where that partner's copy lives (RenderContext.media_url)."""

    url: str = ""
    type: str | None = None
    caption: str | None = None
    credit: str | None = None
    width: int | None = None
    height: int | None = None
    size: int | None = None
    alt: str | None = None
    renditions: tuple[Rendition, ...] = ()
    file: str | None = None
    sha256: str | None = None

    @property
    def is_image(self) -> bool:
        return (self.type or "image/").startswith("image/")

    @property
    def extension(self) -> str:
        """The file extension of a local picture's content-addressed name."""
        sub = (self.type or "application/octet-stream").split("/", 1)[1].split("+")[0]
        return {"jpeg": "jpg", "svg": "svg"}.get(sub, sub)

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Media:
        fields = {k: v for k, v in raw.items() if k != "renditions"}
        return cls(**fields, renditions=tuple(Rendition(**r) for r in raw.get("renditions", ())))

    def thumbnail(self) -> Rendition | None:
        """The smallest rendition, or the one named thumbnail."""
        named = next((r for r in self.renditions if (r.name or "").lower() == "thumbnail"), None)
        if named or not self.renditions:
            return named
        return min(self.renditions, key=lambda r: (r.width or 10**6) * (r.height or 10**6))


@dataclass(frozen=True, slots=True)
class Story:
    id: str
    version: int
    status: str                      # approved | withdrawn
    headline: str
    body_xhtml: str                  # sanitised, well-formed XHTML fragment (no namespace)
    teaser: str                      # the summary, or the body's opening as plain text: for feeds
    language: str
    version_created: datetime
    first_created: datetime
    content_hash: str                # sha256 of the content, version number and version time left out
    origin: str                      # where it was read from, for messages
    subheadline: str | None = None
    slug: str | None = None
    summary: str | None = None
    byline: str | None = None
    authors: tuple[Author, ...] = ()
    dateline: Dateline | None = None
    subjects: tuple[Subject, ...] = ()
    keywords: tuple[str, ...] = ()
    genre: str | None = None
    urgency: int | None = None
    embargo: datetime | None = None
    credit: str | None = None
    sources: tuple[str, ...] = ()
    copyright_holder: str | None = None
    copyright_notice: str | None = None
    usage_terms: str | None = None
    url: str | None = None
    ednote: str | None = None
    correction: str | None = None
    withdrawal_note: str | None = None
    media: tuple[Media, ...] = ()
    named_by: str | None = None      # the file name the source made the id from (plain text), if it did
    warnings: tuple[str, ...] = field(default=(), compare=False)
    media_files: Mapping[str, bytes] = field(default_factory=dict, compare=False, repr=False)  # sha256 -> bytes
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def withdrawn(self) -> bool:
        return self.status == "withdrawn"

    @property
    def direction(self) -> str:
        """Text direction of the story's language: 'rtl' for Arabic, Hebrew, Persian..., else 'ltr'."""
        return "rtl" if self.language.split("-")[0].lower() in RTL_LANGUAGES else "ltr"

    def embargoed_at(self, now: datetime) -> bool:
        return self.embargo is not None and now < self.embargo


@dataclass(frozen=True, slots=True)
class StoryDefaults:
    """What a source fills in where a story document is silent."""

    language: str = "en"
    version_created: datetime | None = None   # e.g. the file's modification time
    copyright_holder: str | None = None
    copyright_notice: str | None = None
    usage_terms: str | None = None


@lru_cache(maxsize=1)
def _contract_validator() -> jsonschema.protocols.Validator:
    """The contract as jsonschema reads it: the reference, and the wording of every error."""
    schema = json.loads(schema_path("story.schema.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@lru_cache(maxsize=1)
def _fast_contract() -> Any:
    """The same contract compiled by jsonschema-rs, some 200 times faster: every story goes through it first,
    and only one it refuses is looked at by jsonschema, to say why."""
    return jsonschema_rs.validator_for(json.loads(schema_path("story.schema.json").read_text(encoding="utf-8")))


def _field_name(path: Any) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in path]
    return "".join(parts).lstrip(".") or "document"


def _contract_error(error: jsonschema.ValidationError, origin: str) -> StoryError:
    """Say what the contract wants in words, not in regular expressions."""
    path = list(error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1]
        return StoryError("missing; every story needs one", file=origin, field=_field_name([*path, missing]))
    if error.validator == "additionalProperties":
        return StoryError(f"{error.message}; see schemas/story.schema.json for the fields a story has",
                          file=origin, field=_field_name(path))
    if error.validator in ("pattern", "not") and isinstance(error.schema, dict):
        hint = error.schema.get("description") or error.parent and error.parent.schema.get("description")
        value = error.instance if len(str(error.instance)) < 80 else f"{str(error.instance)[:77]}..."
        return StoryError(f"{value!r} is not allowed here" + (f": {hint}" if hint else ""),
                          file=origin, field=_field_name(path))
    if error.validator == "maxLength":
        return StoryError(f"{len(error.instance):,} characters, more than the {error.validator_value:,} allowed",
                          file=origin, field=_field_name(path))
    return StoryError(error.message, file=origin, field=_field_name(path))


def _check_xml_chars(value: Any, path: tuple[str | int, ...], origin: str) -> None:
    if isinstance(value, str):
        bad = xml_forbidden_char(value)
        if bad:
            raise StoryError(
                f"character {bad[1]} at offset {bad[0]} is not allowed in XML 1.0; remove it",
                file=origin, field=_field_name(path),
            )
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_xml_chars(v, (*path, k), origin)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_xml_chars(v, (*path, i), origin)


def _datetime(value: str, name: str, origin: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise StoryError(f"{value!r} is not a valid date and time ({exc})", file=origin, field=name) from None
    if parsed.tzinfo is None:
        raise StoryError(f"{value!r} has no UTC offset; add Z or +hh:mm", file=origin, field=name)
    return parsed


def _opening(text: str, limit: int = TEASER_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit] + "…"


def content_hash(document: Mapping[str, Any]) -> str:
    """Identity of a story's content: the same text and metadata approved again hash the same."""
    content = {k: v for k, v in document.items() if k not in ("version", "version_created")}
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_contract(document: Mapping[str, Any], origin: str) -> None:
    """The story contract (schemas/story.schema.json) and XML's character rules. Raises StoryError."""
    if not _fast_contract().is_valid(document):
        error = best_match(_contract_validator().iter_errors(document))
        if error is not None:   # jsonschema is the reference: where the two differ, it decides
            raise _contract_error(error, origin)
    _check_xml_chars(document, (), origin)


def contract_errors(document: Mapping[str, Any], origin: str, *, limit: int = 100) -> list[StoryError]:
    """Every way this document breaks the story contract (not only the first), each naming its field; then, if
    the contract holds, what reading it into a Story finds (times, an empty body). Empty: a good story."""
    errors = [_contract_error(e, origin) for e in
              sorted(_contract_validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))]
    if errors:
        return errors[:limit]
    try:
        _check_xml_chars(document, (), origin)
        story_from_document(document, origin=origin, defaults=StoryDefaults(version_created=_EPOCH))
    except StoryError as exc:
        return [exc]
    return []


def _times(d: Mapping[str, Any], origin: str, defaults: StoryDefaults) -> dict[str, datetime]:
    """embargo (if any), first_created and version_created, parsed and checked."""
    times = {k: _datetime(d[k], k, origin) for k in ("embargo", "first_created", "version_created") if k in d}
    version_created = times.get("version_created") or defaults.version_created
    if version_created is None:
        raise StoryError("no version_created time and the source gave none", file=origin,
                         field="version_created")
    times["version_created"] = version_created
    times.setdefault("first_created", version_created)
    if times["first_created"] > version_created:
        raise StoryError("first_created is later than version_created", file=origin, field="first_created")
    return times


def story_from_document(
    document: Mapping[str, Any], *, origin: str, defaults: StoryDefaults | None = None
) -> Story:
    """Check a story document against the contract and build the Story. Raises StoryError."""
    defaults = defaults or StoryDefaults()
    check_contract(document, origin)
    d = dict(document)
    times = _times(d, origin, defaults)
    version_created, first_created = times["version_created"], times["first_created"]
    try:
        body = clean_body(d["body"], d.get("body_format"))
    except BodyTooComplex as exc:
        raise StoryError(str(exc), file=origin, field="body") from None
    warnings = (
        (f"{origin}: body: removed what the allow-list does not keep: {', '.join(body.removed)}",)
        if body.removed else ()
    )
    if not body.xhtml and d.get("status", "approved") == "approved":
        raise StoryError("nothing is left of the body once cleaned", file=origin, field="body")
    dl = d.get("dateline")
    return Story(
        id=d["id"],
        version=d.get("version", 1),
        status=d.get("status", "approved"),
        headline=" ".join(d["headline"].split()),
        body_xhtml=body.xhtml,
        teaser=d.get("summary") or _opening(body.text) or " ".join(d["headline"].split()),
        language=d.get("language", defaults.language),
        version_created=version_created,
        first_created=first_created,
        content_hash=content_hash(d),
        origin=origin,
        subheadline=d.get("subheadline"),
        slug=d.get("slug"),
        summary=d.get("summary"),
        byline=d.get("byline"),
        authors=tuple(Author(**a) for a in d.get("authors", ())),
        dateline=Dateline(dl["place"], dl.get("country"), date.fromisoformat(dl["date"]) if "date" in dl else None)
        if dl else None,
        subjects=tuple(Subject(s) if isinstance(s, str) else Subject(s["name"], s.get("code"))
                       for s in d.get("subjects", ())),
        keywords=tuple(d.get("keywords", ())),
        genre=d.get("genre"),
        urgency=d.get("urgency"),
        embargo=times.get("embargo"),
        credit=d.get("credit"),
        sources=tuple(d.get("sources", ())),
        copyright_holder=d.get("copyright_holder", defaults.copyright_holder),
        copyright_notice=d.get("copyright_notice", defaults.copyright_notice),
        usage_terms=d.get("usage_terms", defaults.usage_terms),
        url=d.get("url"),
        ednote=d.get("ednote"),
        correction=d.get("correction"),
        withdrawal_note=d.get("withdrawal_note"),
        media=tuple(Media.of(m) for m in d.get("media", ())),
        warnings=warnings,
        document=d,
    )
