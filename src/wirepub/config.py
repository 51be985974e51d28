"""wirepub.toml: loaded, checked against schemas/config.schema.json, turned into plain settings.

Without a configuration file wirepub runs on embedded defaults: stories from ./stories, the store in
./.wirepub/wirepub.db (SQLite), every format into the folder ./public.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import socket
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from wirepub.channel import Channel, Provider
from wirepub.errors import ConfigError
from wirepub.formats import DEFAULT_FORMATS
from wirepub.formats import registry as formats
from wirepub.formats.profiles import PROFILES, get_profile
from wirepub.partners import DeliveryPolicy, Layout, Partner, StoryFilter, collisions, cron
from wirepub.resources import schema_path
from wirepub.transports import Destination, unsafe
from wirepub.urls import shown
from wirepub.vocabulary import EmbargoPolicy, OnKill, OnKillFeed, SourceKind

CONFIG_ENV = "WIREPUB_CONFIG"
STORE_ENV = "WIREPUB_STORE_URL"   # overrides store.url: where a database password belongs
DEFAULT_NAME = "wirepub.toml"
DEFAULT_FEED_RETENTION = 7 * 86_400   # seconds: a week of replaced feed copies kept (store.feed_retention)
NOTICE_TEMPLATES = ("kill-notice", "correction")   # partners.templates keys besides format names
OFFICIAL_SCHEMA_KEYS = {"newsml-g2": "newsml_g2_xsd", "jsonfeed": "jsonfeed_schema", "ninjs": "ninjs_schemas",
                        "atom": "atom_rng"}


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    interval: float = 2.0
    watch: bool = True
    listen: str = "127.0.0.1:8787"
    shutdown_grace: float = 30.0
    lease: float = 60.0
    rescan: float = 600.0     # seconds between looks at the whole hot folder while the watch runs
    node: str = field(default_factory=lambda: this_process())


def this_process() -> str:
    """host:pid:start-time. The start time tells a live process from a later one that got the same pid, so
    a node can tell that the owner of a lease on this host is gone (see delivery.release_orphaned_leases)."""
    return f"{socket.gethostname()}:{os.getpid()}:{process_start(os.getpid()) or 0}"


def process_start(pid: int) -> str | None:
    """When process pid started, in clock ticks since boot (Linux /proc); None if it does not run."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return "?"
    return stat.rsplit(")", 1)[1].split()[19]


# The options each kind of source takes, besides name, kind and language (the schema lists them all).
SOURCE_OPTIONS: dict[SourceKind, frozenset[str]] = {
    SourceKind.FOLDER: frozenset({"path", "rejected", "settle"}),
    SourceKind.API: frozenset({"tokens_env", "tokens_file", "max_bytes", "queue_limit"}),
    SourceKind.SUPERDESK: frozenset({"tokens_env", "tokens_file", "max_bytes", "queue_limit", "secret_env",
                                     "secret_file", "assets_url"}),
    SourceKind.WORDPRESS: frozenset({"interval", "url", "user", "password_env", "statuses", "categories", "tags",
                                     "id_prefix", "per_page", "timeout"}),
    SourceKind.SQL: frozenset({"interval", "url", "url_env", "password_env", "query", "table", "columns", "cursor",
                               "where", "id_prefix", "batch"}),
    SourceKind.S3: frozenset({"interval", "bucket", "prefix", "rejected", "endpoint_url", "region",
                              "access_key_id_env", "secret_access_key_env", "claim_seconds", "batch", "timeout"}),
}
NEEDS_ONE_OF: dict[SourceKind, tuple[tuple[str, tuple[str, ...]], ...]] = {
    SourceKind.API: (("secret", ("tokens_env", "tokens_file")),),
    SourceKind.SUPERDESK: (("secret", ("secret_env", "secret_file")),),
    SourceKind.SQL: (("what", ("query", "table")), ("where", ("url", "url_env"))),
}
LEGACY_SOURCE = "folder"   # the name of the source a [source] table describes


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """One entry of [[sources]] (or the [source] table): its name, kind and that kind's options as configured
    (checked by the schema; paths resolved). The source module of its kind reads them (wirepub.sources)."""

    name: str
    kind: SourceKind
    options: dict[str, Any] = field(default_factory=dict)
    language: str = "en"
    key: str = "sources"      # where it is in wirepub.toml, for messages

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)


@dataclass(frozen=True, slots=True)
class Config:
    base_dir: Path
    source_path: Path
    rejected_path: Path
    default_language: str
    store_url: str
    provider: Provider
    channel: Channel
    partners: tuple[Partner, ...]
    official_schemas: dict[str, Path]
    delivery: DeliveryPolicy = DeliveryPolicy()
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    path: Path | None = None  # the file it came from; None for the embedded defaults
    settle: float = 3.0       # seconds a story file must be left unchanged before it is read
    feed_retention: float = DEFAULT_FEED_RETENTION   # seconds the bytes of a replaced feed copy are kept
    warnings: tuple[str, ...] = ()   # what is unsafe in it (transports.unsafe): said by push, run, partners check
    sources: tuple[SourceSettings, ...] = ()   # every source; the first folder one is source_path's


@lru_cache(maxsize=1)
def _validator(format_names: tuple[str, ...], templated: tuple[str, ...]) -> jsonschema.protocols.Validator:
    """The config schema, with the format names the registry knows (plugins' too) as the allowed ones."""
    schema = json.loads(schema_path("config.schema.json").read_text(encoding="utf-8"))
    partner = copy.deepcopy(schema["properties"]["partners"]["items"]["properties"])
    partner["formats"]["items"]["enum"] = list(format_names)
    partner["templates"]["propertyNames"]["enum"] = [*templated, *NOTICE_TEMPLATES]
    partner["profile"]["enum"] = list(PROFILES)
    partner["channels"]["propertyNames"]["enum"] = list(format_names)
    schema["properties"]["partners"]["items"]["properties"] = partner
    return jsonschema.Draft202012Validator(schema)


def find_config(explicit: str | os.PathLike[str] | None) -> Path | None:
    """--config, else $WIREPUB_CONFIG, else ./wirepub.toml if there is one, else None (defaults)."""
    named = explicit or os.environ.get(CONFIG_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError("no such configuration file; run `wirepub init` to write one", path=str(path))
        return path
    local = Path(DEFAULT_NAME)
    return local if local.is_file() else None


def load_config(path: Path | None, *, base_dir: Path | None = None) -> Config:
    if path is None:
        return build_config({}, base_dir=(base_dir or Path.cwd()).resolve(), path=None)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not valid UTF-8: {exc}", path=str(path)) from None
    return build_config(raw, base_dir=path.resolve().parent, path=path)


class _Builder:
    """Turns a checked wirepub.toml into settings; every error names the file and the key."""

    def __init__(self, raw: dict[str, Any], base_dir: Path, path: Path | None) -> None:
        self.raw, self.base_dir, self.path = raw, base_dir, path

    def fail(self, message: str, key: str) -> ConfigError:
        return ConfigError(message, key=key, path=str(self.path) if self.path else None)

    def resolve(self, p: str) -> Path:
        return (self.base_dir / os.path.expanduser(p)).resolve()

    def store_url(self) -> str:
        url: str = os.environ.get(STORE_ENV) or self.raw.get("store", {}).get("url", "sqlite:///.wirepub/wirepub.db")
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            relative = url.removeprefix("sqlite:///")
            if relative and relative != ":memory:":
                url = f"sqlite:///{self.resolve(relative)}"
        return url

    def partner(self, i: int, p: dict[str, Any], delivery: DeliveryPolicy) -> Partner:
        own = ("url", "public_url")   # wirepub's settings of a destination; the rest are its transport's options
        partner = Partner(
            name=p["name"],
            destinations=tuple(Destination(d) if isinstance(d, str)
                               else Destination(d["url"], {k: v for k, v in d.items() if k not in own})
                               for d in p["destinations"]),
            public_urls={d["url"]: d["public_url"] for d in p["destinations"]
                         if isinstance(d, dict) and d.get("public_url")},
            profile=p.get("profile"),
            channel=dict(p.get("channel", {})),
            channels={k: dict(v) for k, v in p.get("channels", {}).items()},
            field_maps=dict(p.get("field_map", {})),
            ninjs_version=p.get("ninjs_version", "3.1"),
            on_kill_feed=OnKillFeed(p.get("on_kill_feed", OnKillFeed.NOTICE)),
            kill_notice_hours=float(p.get("kill_notice_hours", 48.0)),
            newsml_packages=bool(p.get("newsml_packages", False)),
            formats=tuple(p.get("formats", DEFAULT_FORMATS)),
            templates={name: self.resolve(t) for name, t in p.get("templates", {}).items()},
            filter=StoryFilter.from_config(p.get("filter", {})),
            delivery=dataclasses.replace(delivery, **p.get("delivery", {})),
            schedule=p.get("schedule"),
            embargo=EmbargoPolicy(p.get("embargo", EmbargoPolicy.HOLD)),
            on_kill=OnKill(p.get("on_kill", OnKill.REPLACE)),
            paths=Layout(**p.get("paths", {})),
        )
        for key, problem in partner.paths.problems():
            raise self.fail(problem, f"partners.{i}.paths.{key}")
        shown_urls = [shown(d.url) for d in partner.destinations]
        for url in shown_urls:
            if shown_urls.count(url) > 1:
                raise self.fail(f"two destinations are {url} once their query values are hidden; wirepub keeps "
                                "query values (often keys) out of its ledger and would take them for one: make "
                                "them differ in host or path, or give each its own partner",
                                f"partners.{i}.destinations")
        if partner.schedule is not None:
            try:
                cron(partner.schedule)
            except ValueError as exc:
                raise self.fail(f"not a cron expression (minute hour day month weekday): {exc}",
                                f"partners.{i}.schedule") from None
        for name, tpl in partner.templates.items():
            if not tpl.is_file():
                raise self.fail(f"template file {tpl} does not exist", f"partners.{i}.templates.{name}")
        if partner.profile is not None:
            base = get_profile(partner.profile).format
            if base not in partner.formats:
                raise self.fail(f"profile {partner.profile!r} is a dialect of {base}, which this partner does not "
                                f"take; add {base!r} to its formats", f"partners.{i}.profile")
        for name in partner.field_maps:
            if formats.get(name).template is not None:
                raise self.fail(f"{name} is rendered from a template: give the partner its own template instead "
                                "of a field map", f"partners.{i}.field_map.{name}")
        return partner

    def partners(self, delivery: DeliveryPolicy) -> tuple[Partner, ...]:
        raw = self.raw.get("partners", [{"name": "local", "destinations": ["public"]}])
        partners = tuple(self.partner(i, p, delivery) for i, p in enumerate(raw))
        names = [p.name for p in partners]
        for name in names:
            if names.count(name) > 1:
                raise self.fail(f"partner name {name!r} is used twice", "partners")
        for clash in collisions(partners, self.base_dir):
            raise self.fail(clash, "partners")
        return partners

    def official_schemas(self) -> dict[str, Path]:
        validation = self.raw.get("validation", {})
        official = {fmt: self.resolve(validation[key]) for fmt, key in OFFICIAL_SCHEMA_KEYS.items()
                    if key in validation}
        for fmt, schema_file in official.items():
            if not schema_file.exists():
                raise self.fail(f"schema file {schema_file} does not exist", f"validation.{OFFICIAL_SCHEMA_KEYS[fmt]}")
        return official


def _sources(b: _Builder, raw: dict[str, Any], legacy: SourceSettings) -> tuple[SourceSettings, ...]:
    """[source] (if given, or if nothing is) as the folder source named folder, then [[sources]]."""
    out = [legacy] if "source" in raw or "sources" not in raw else []
    for i, entry in enumerate(raw.get("sources", [])):
        kind = SourceKind(entry["kind"])
        key = f"sources.{i}"
        options = {k: v for k, v in entry.items() if k not in ("name", "kind", "language")}
        for extra in sorted(set(options) - SOURCE_OPTIONS[kind]):
            raise b.fail(f"{extra} is not an option of a {kind} source (docs/sources.md lists them)", f"{key}.{extra}")
        for needs, one_of in NEEDS_ONE_OF.get(kind, ()):
            given = [k for k in one_of if k in options]
            if len(given) != 1 and not (given and needs == "secret"):
                raise b.fail(f"a {kind} source needs {' or '.join(one_of)}" + (" (one of them)" if given else ""),
                             key)
        if kind == SourceKind.FOLDER:
            options["path"] = b.resolve(options["path"])
            options["rejected"] = options["path"] / options.get("rejected", "rejected")
        if kind == SourceKind.SUPERDESK and "secret_file" in options:
            options["secret_file"] = b.resolve(options["secret_file"])
        if "tokens_file" in options:
            options["tokens_file"] = [b.resolve(t) for t in options["tokens_file"]]
        out.append(SourceSettings(entry["name"], kind, options, entry.get("language", "en"), key))
    names = [s.name for s in out]
    for name in names:
        if names.count(name) > 1:
            raise b.fail(f"source name {name!r} is used twice" + (" ([source] is the source named folder)"
                                                                  if name == LEGACY_SOURCE else ""), "sources")
    return tuple(out)
def _channel(raw: dict[str, Any]) -> Channel:
    return Channel(**{**raw, **({"hubs": tuple(raw["hubs"])} if "hubs" in raw else {})})


def build_config(raw: dict[str, Any], *, base_dir: Path, path: Path | None) -> Config:
    error = best_match(_validator(formats.names(), formats.templated()).iter_errors(raw))
    if error is not None:
        key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConfigError(error.message, key=key, path=str(path) if path else None)
    b = _Builder(raw, base_dir, path)
    source = raw.get("source", {})
    source_path = b.resolve(source.get("path", "stories"))
    delivery = DeliveryPolicy(**raw.get("delivery", {}))
    rejected_path = source_path / source.get("rejected", "rejected")
    language = source.get("language", "en")
    settle = float(source.get("settle", 3.0))
    legacy = SourceSettings(LEGACY_SOURCE, SourceKind.FOLDER, {"path": source_path, "rejected": rejected_path,
                                                              "settle": settle}, language, "source")
    sources = _sources(b, raw, legacy)
    folder = next((s for s in sources if s.kind == SourceKind.FOLDER), legacy)
    return Config(
        base_dir=base_dir,
        source_path=folder.options["path"],
        rejected_path=folder.options["rejected"],
        default_language=folder.language,
        store_url=b.store_url(),
        provider=Provider(**raw.get("provider", {})),
        channel=_channel(raw.get("channel", {})),
        partners=(partners := b.partners(delivery)),
        official_schemas=b.official_schemas(),
        delivery=delivery,
        daemon=DaemonSettings(**raw.get("daemon", {})),
        path=path,
        settle=float(folder.options.get("settle", 3.0)),
        feed_retention=float(raw.get("store", {}).get("feed_retention", DEFAULT_FEED_RETENTION)),
        warnings=tuple(f"partner {p.name}: {w}" for p in partners for d in p.destinations if (w := unsafe(d))),
        sources=sources,
    )

