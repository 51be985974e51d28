"""partners check: connect, authenticate, write and remove a probe, at every destination of every partner; and
say what is unsafe about each (transports.unsafe), whether the probe worked or not."""

from __future__ import annotations

from dataclasses import dataclass

from wirepub.config import Config
from wirepub.errors import WirepubError
from wirepub.transports import open_transport, unsafe
from wirepub.urls import shown


@dataclass(frozen=True, slots=True)
class DestinationCheck:
    partner: str
    destination: str
    ok: bool
    error: str | None = None
    warning: str | None = None   # what is unsafe about it (plain ftp:// or http:// to another machine)


def check_partners(config: Config) -> list[DestinationCheck]:
    out = []
    for p in config.partners:
        for d in p.destinations:
            warning = unsafe(d)
            try:
                transport = open_transport(d, base_dir=config.base_dir)
                try:
                    transport.probe()
                finally:
                    transport.close()
                out.append(DestinationCheck(p.name, shown(d.url), True, warning=warning))
            except WirepubError as exc:
                out.append(DestinationCheck(p.name, shown(d.url), False, str(exc), warning))
    return out
