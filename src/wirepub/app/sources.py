"""sources and sources check: what each configured source is, and whether it can be read (connect,
authenticate, read one)."""

from __future__ import annotations

from dataclasses import dataclass

from wirepub.app.publish import opened
from wirepub.clock import SystemClock
from wirepub.config import Config
from wirepub.errors import WirepubError
from wirepub.sources.registry import open_source


@dataclass(frozen=True, slots=True)
class SourceCheck:
    source: str
    kind: str
    ok: bool
    found: str | None = None
    error: str | None = None


def check_sources(config: Config, *, only: str | None = None) -> list[SourceCheck]:
    out = []
    clock = SystemClock()
    with opened(config) as store:
        for settings in config.sources:
            if only is not None and settings.name != only:
                continue
            try:
                found = open_source(config, settings, store, clock).check()
                out.append(SourceCheck(settings.name, settings.kind, True, found))
            except WirepubError as exc:
                out.append(SourceCheck(settings.name, settings.kind, False, error=str(exc)))
            except Exception as exc:   # a driver's own error (a database that refuses): said, not raised
                out.append(SourceCheck(settings.name, settings.kind, False,
                                       error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"))
    return out
