"""The sources a configuration names, built: one module per kind (vocabulary.SourceKind), imported only when a
source of its kind is configured (WordPress's, SQL's and S3's clients load only where they are used)."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from wirepub.clock import Clock
from wirepub.config import Config, SourceSettings
from wirepub.errors import ConfigError
from wirepub.sources import Memory, Source
from wirepub.sources.hotfolder import HotFolder
from wirepub.store import Store
from wirepub.story import StoryDefaults
from wirepub.vocabulary import SourceKind

# kind -> (module, class): the class is built as Class(settings, store, clock, defaults=...)
KINDS: dict[SourceKind, tuple[str, str]] = {
    SourceKind.API: ("wirepub.sources.api", "ApiSource"),
    SourceKind.SUPERDESK: ("wirepub.sources.superdesk", "SuperdeskSource"),
    SourceKind.WORDPRESS: ("wirepub.sources.wordpress", "WordPressSource"),
    SourceKind.SQL: ("wirepub.sources.sql", "SQLSource"),
    SourceKind.S3: ("wirepub.sources.s3", "S3Inbox"),
}


def defaults_of(config: Config, settings: SourceSettings) -> StoryDefaults:
    p = config.provider
    return StoryDefaults(language=settings.language, copyright_holder=p.copyright_holder,
                         copyright_notice=p.copyright_notice, usage_terms=p.usage_terms)


def hot_folder(config: Config, settings: SourceSettings, clock: Clock, memory: Memory | None = None) -> HotFolder:
    d = defaults_of(config, settings)
    return HotFolder(settings.options["path"], rejected=settings.options["rejected"], language=d.language,
                     copyright_holder=d.copyright_holder, copyright_notice=d.copyright_notice,
                     usage_terms=d.usage_terms, clock=clock, memory=memory, name=settings.name)


def open_source(config: Config, settings: SourceSettings, store: Store, clock: Clock) -> Source:
    if settings.kind == SourceKind.FOLDER:
        return hot_folder(config, settings, clock, store.source_items)
    module, name = KINDS[settings.kind]
    cls: Callable[..., Source] = getattr(importlib.import_module(module), name)
    return cls(settings, store, clock, defaults=defaults_of(config, settings))


def open_sources(config: Config, store: Store, clock: Clock, *, only: str | None = None) -> list[Source]:
    """Every configured source, or only the one named (ConfigError naming the others if there is none)."""
    chosen = [s for s in config.sources if only is None or s.name == only]
    if only is not None and not chosen:
        names = ", ".join(s.name for s in config.sources) or "none"
        raise ConfigError(f"no source named {only!r} (configured: {names})", key="sources")
    return [open_source(config, s, store, clock) for s in chosen]
