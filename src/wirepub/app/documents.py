"""render and validate: one document at a time, for a person at a terminal. Neither needs the store, unless
render is given a story id rather than a file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from wirepub.clock import SystemClock
from wirepub.config import Config
from wirepub.errors import ConfigError, DocumentInvalid, StoryError, WirepubError
from wirepub.formats import Format
from wirepub.formats import registry as formats
from wirepub.partners import Partner
from wirepub.publisher import folder_source
from wirepub.rendering import Renderer
from wirepub.story import Story, story_from_document
from wirepub.validate import PARSER, Validator


@dataclass(frozen=True, slots=True)
class Rendered:
    story_id: str
    version: int
    format: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Validation:
    file: str
    format: str | None      # the format detected, "story" for a story file, None if unknown
    valid: bool
    error: str | None = None
    standard: str | None = None   # the standard it is valid against ("RSS 2.0", "JSON Feed 1.1"...)
    note: str | None = None       # valid by the standard, yet wirepub's own profile is stricter: where and why


def render(config: Config, story: str, format_name: str, *, partner: str | None = None,
           validate: bool = True) -> Rendered:
    """One story, given as a story file or as the id of a recorded story (its latest version), in one
    format, with a partner's templates if one is named. Raises WirepubError."""
    fmt = formats.get(format_name)
    chosen = Partner("-", ())
    if partner is not None:
        found = next((p for p in config.partners if p.name == partner), None)
        if found is None:
            raise ConfigError(f"no partner named {partner!r}", key="partners")
        chosen = found
    loaded = _story(config, story)
    renderer = Renderer(config.provider, config.channel, Validator(config.official_schemas))
    return Rendered(loaded.id, loaded.version, fmt.name, renderer.one(chosen, fmt, loaded, validate=validate))


def _story(config: Config, ref: str) -> Story:
    if Path(ref).is_file():
        return folder_source(config, SystemClock()).read(ref)
    from wirepub.app.publish import opened

    with opened(config) as store:
        latest = store.versions.latest(ref)
    if latest is None:
        raise StoryError("no such file, and no story with this id in the store", file=ref)
    return story_from_document(latest.document, origin=latest.origin)


def validate(config: Config, files: list[Path]) -> list[Validation]:
    """Each file checked against its format's schemas (or, for a story file, the story contract); the kind of
    each is detected from its content."""
    validator = Validator(config.official_schemas)
    source = folder_source(config, SystemClock())
    out = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            out.append(Validation(str(path), None, False, f"cannot read: {exc.strerror or exc}"))
            continue
        fmt = formats.detect(data)
        try:
            if fmt is None:
                source.read(str(path))  # a story file: reading it is checking it against the contract
                out.append(Validation(str(path), "story", True))
            else:
                validator.check(data, fmt, story=path.name)
                out.append(Validation(str(path), fmt.name, True, standard=getattr(fmt, "standard", None)))
        except DocumentInvalid as exc:
            out.append(_against_the_standard(validator, fmt, data, str(path), exc))
        except WirepubError as exc:
            out.append(Validation(str(path), None if fmt is None else fmt.name, False, str(exc)))
    return out


def _against_the_standard(validator: Validator, fmt: Format | None, data: bytes, file: str,
                          profile: DocumentInvalid) -> Validation:
    """A document our profile refuses may still be valid by its standard (a feed without a language, a JSON
    Feed without home_page_url): say which, and what our profile wants besides."""
    standard = getattr(fmt, "standard", None)
    rule = getattr(fmt, "check_standard", None)
    if fmt is None or standard is None or rule is None or profile.schema == "XML 1.0" or profile.schema == "JSON":
        return Validation(file, profile.format, False, profile.plain, standard)
    try:
        if validator.has_official(fmt):
            validator.check(data, fmt, story=file, standard_only=True)
        parsed = etree.fromstring(data, PARSER) if data.lstrip()[:1] == b"<" else json.loads(data)
    except DocumentInvalid as exc:
        return Validation(file, fmt.name, False, exc.plain, standard)
    broken = rule(parsed)
    if broken is not None:
        return Validation(file, fmt.name, False, f"not valid {standard}: {broken}; and {profile.plain}", standard)
    return Validation(file, fmt.name, True, None, standard,
                      note=f"wirepub's profile is stricter: {profile.plain}")
