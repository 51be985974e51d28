"""The desk's status page: what each partner has, what is waiting or failing, and where each version of a
story went. One view, three ways out: the page the daemon serves, its JSON (/api/status), and the static
page of `wirepub status --html FILE`.

Reading only: everything comes from the store, through its queries. Code prepares every string the template
shows (ages, times, problem flags), so the template stays dumb; the template escapes all of it, since story
ids and error messages come from outside.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from wirepub import __version__
from wirepub.errors import WirepubError
from wirepub.resources import templates_dir
from wirepub.store import HeldRow, Notice, Store, StoredRejection
from wirepub.vocabulary import DeliveryState, NoticeKind

TEMPLATE = "status.html.j2"
RECENT_STORIES = 50
MATCHES = 20
REJECTIONS = 50          # the latest rejections shown
SLOW_AFTER = 15 * 60     # an undelivered document older than this makes its partner's row stand out
MAX_STORY_ID = 128       # the store's story_id column


@dataclass(frozen=True, slots=True)
class PartnerStatus:
    partner: str
    pending: int
    delivered: int
    failed: int
    dead: int
    superseded: int
    last_error: str | None
    oldest_pending_seconds: float | None
    misconfigured: str | None = None     # why this partner cannot be used as configured (its deliveries wait)

    @property
    def problem(self) -> str | None:
        """'misconfigured', 'dead', 'failing' or 'slow' (something waits longer than SLOW_AFTER); None when
        all is well."""
        if self.misconfigured:
            return "misconfigured"
        if self.dead:
            return "dead"
        if self.failed:
            return "failing"
        if self.oldest_pending_seconds is not None and self.oldest_pending_seconds > SLOW_AFTER:
            return "slow"
        return None


@dataclass(frozen=True, slots=True)
class VersionStatus:
    story_id: str
    version: int
    status: str
    seen_at: datetime
    released_at: datetime | None
    embargo: datetime | None
    headline: str | None = None
    failed_at: datetime | None = None
    dropped_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    version: int
    partner: str
    destination: str
    path: str
    format: str
    state: str
    attempts: int
    created_at: datetime | None
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None
    kind: str = "item"        # vocabulary.DeliveryKind: replace and delete are what a kill did to an earlier item


@dataclass(frozen=True, slots=True)
class FailedVersion:
    story_id: str
    version: int
    headline: str | None
    failure: str | None
    failed_at: datetime


@dataclass(frozen=True, slots=True)
class StatusView:
    now: datetime
    partners: list[PartnerStatus]
    stories: list[VersionStatus]                  # the latest version of the most recently seen stories
    story: str | None = None                      # the story searched for, as typed
    versions: list[VersionStatus] = field(default_factory=list)     # of that story, oldest first
    history: list[DeliveryStatus] = field(default_factory=list)     # of that story, newest version first
    matches: list[VersionStatus] = field(default_factory=list)      # stories whose id or headline contains it
    failed: list[FailedVersion] = field(default_factory=list)       # held back: could not be rendered
    notices: list[Notice] = field(default_factory=list)             # what nodes say is wrong
    rejections: list[StoredRejection] = field(default_factory=list)  # what sources offered that cannot go
    held: list[HeldRow] = field(default_factory=list)               # held back from a partner by its profile

    @property
    def found(self) -> bool:
        return bool(self.versions)

    def as_json(self) -> dict[str, Any]:
        """The same data as the page, for scripts: /api/status."""
        return {
            "now": _iso(self.now),
            "partners": [{**_fields(p), "problem": p.problem} for p in self.partners],
            "stories": [_fields(s) for s in self.stories],
            "failed_versions": [_fields(f) for f in self.failed],
            "held_back": [{**dataclasses.asdict(h), "since": _iso(h.since) if h.since else None} for h in self.held],
            "notices": [{"kind": n.kind, "subject": n.subject, "node": n.node, "message": n.message,
                         "since": _iso(n.first_at)} for n in self.notices],
            "rejections": [{"source": r.source, "item": r.ref, "field": r.field, "reason": r.reason,
                            "at": _iso(r.at)} for r in self.rejections],
            "story": None if self.story is None else {
                "id": self.story,
                "found": self.found,
                "versions": [_fields(v) for v in self.versions],
                "deliveries": [_fields(d) for d in self.history],
                "matches": [_fields(m) for m in self.matches],
            },
        }


def status_view(store: Store, now: datetime, *, story: str | None = None) -> StatusView:
    """Everything the page shows, read from the store at `now`; with `story`, that story's history (or, when
    no story has exactly that id, the stories whose id or headline contains it)."""
    notices = store.notices.all()
    misconfigured = {n.subject: n.message for n in notices if n.kind == NoticeKind.MISCONFIGURED}
    rows = {row["partner"]: row for row in store.reads.status(now)}
    for name in misconfigured.keys() - rows.keys():
        rows[name] = {"partner": name, **{s.value: 0 for s in DeliveryState}, "last_error": None,
                      "oldest_pending_seconds": None}
    partners = [PartnerStatus(**{k: row[k] for k in PartnerStatus.__slots__ if k != "misconfigured"},
                              misconfigured=misconfigured.get(name)) for name, row in sorted(rows.items())]
    view = StatusView(now=now, partners=partners, notices=notices, rejections=store.rejections.recent(REJECTIONS),
                      stories=[VersionStatus(**row) for row in store.reads.recent_versions(RECENT_STORIES)],
                      failed=[FailedVersion(**row) for row in store.reads.failed_versions()],
                      held=store.holds.all())
    wanted = (story or "").strip()
    if not wanted:
        return view
    if len(wanted) > MAX_STORY_ID:
        return dataclasses.replace(view, story=wanted)
    versions = [VersionStatus(**row) for row in store.reads.versions_of(wanted)]
    history = [DeliveryStatus(**row) for row in store.reads.story_history(wanted)] if versions else []
    matches = [] if versions else [VersionStatus(**row)
                                   for row in store.reads.recent_versions(MATCHES, matching=wanted)]
    return dataclasses.replace(view, story=wanted, versions=versions, history=history, matches=matches)


def render_status_page(view: StatusView, *, refresh_seconds: int | None, search: bool = True) -> str:
    """The page as HTML: self-contained (inline CSS, no script, no external asset). `refresh_seconds` adds a
    meta refresh (the served page); `search=False` leaves out the search form and the story links, which a
    static file cannot answer."""
    now = view.now
    partners = [{
        "name": p.partner, "pending": p.pending, "delivered": p.delivered, "failed": p.failed, "dead": p.dead,
        "superseded": p.superseded, "problem": p.problem, "last_error": _redact(p.misconfigured or p.last_error),
        "oldest": "-" if p.oldest_pending_seconds is None else human_age(p.oldest_pending_seconds),
    } for p in view.partners]
    problems = [p for p in partners if p["problem"]]
    collects = [{"node": n.node, "message": _redact(n.message), "since": when(n.first_at, now)}
                for n in view.notices if n.kind == NoticeKind.COLLECT_FAILING]
    sources_failing = [{"source": n.subject, "node": n.node, "message": _redact(n.message),
                        "since": when(n.first_at, now)} for n in view.notices if n.kind == NoticeKind.SOURCE_FAILING]
    rejections = [{"source": r.source, "ref": _redact(r.ref), "field": r.field or "file",
                   "reason": _redact(r.reason), "at": when(r.at, now)} for r in view.rejections]
    failed = [{"story_id": f.story_id, "version": f.version, "headline": f.headline or "",
               "failure": _redact(f.failure), "since": when(f.failed_at, now)} for f in view.failed]
    held = [{"partner": h.partner, "format": h.format, "story_id": h.story_id, "version": h.version, "rule": h.rule,
             "message": h.message, "since": when(h.since, now) if h.since else "-"} for h in view.held]
    return _template().render(
        version=__version__, generated=_clock_time(now), refresh_seconds=refresh_seconds, search=search, held=held,
        partners=partners, problems=len(problems), collects=collects, failed=failed,
        sources_failing=sources_failing, rejections=rejections,
        open_total=sum(p.pending + p.failed for p in view.partners), dead_total=sum(p.dead for p in view.partners),
        stories=[_version_display(s, now) for s in view.stories],
        story=view.story, found=view.found, versions=_versions_display(view, now),
        matches=[_version_display(m, now) for m in view.matches],
    )


KIND_NOTES = {"replace": "replaced by the kill notice", "delete": "removed: the story was killed"}


def _versions_display(view: StatusView, now: datetime) -> list[dict[str, Any]]:
    history_by_version: dict[int, list[DeliveryStatus]] = {}
    for d in view.history:
        history_by_version.setdefault(d.version, []).append(d)
    return [{
        **_version_display(v, now),
        "deliveries": [{
            "partner": d.partner, "destination": _redact(d.destination), "path": d.path, "format": d.format,
            "state": d.state, "attempts": d.attempts, "queued": when(d.created_at, now),
            "delivered": when(d.delivered_at, now), "kill": KIND_NOTES.get(d.kind),
            "next_attempt": when(d.next_attempt_at, now) if d.state == "failed" else "-",
            "last_error": _redact(d.last_error),
        } for d in history_by_version.get(v.version, [])],
    } for v in reversed(view.versions)]


def write_status_page(store: Store, now: datetime, path: Path, *, story: str | None = None) -> None:
    """`wirepub status --html FILE`: the page as a static file, written whole (a temporary name, then a
    rename), so a web server that serves it never sends half a page. No refresh, no search form."""
    page = render_status_page(status_view(store, now, story=story), refresh_seconds=None, search=False)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_text(page, encoding="utf-8")
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise WirepubError(f"cannot write the status page to {path}: {exc.strerror or exc}; check that its folder "
                           "exists and is writable") from None


def human_age(seconds: float) -> str:
    """12 s, 3 min, 2 h 5 min, 3 d 4 h: how long, in the units a desk reads at a glance."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86_400:
        hours, minutes = divmod(s // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(s // 3600, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def when(at: datetime | None, now: datetime) -> str:
    """'12:00:00 UTC (3 min ago)' for today (UTC), '2026-11-24 12:00:00 UTC (1 d ago)' for another day,
    '(in 5 min)' for a time still to come; '-' for none."""
    if at is None:
        return "-"
    delta = (now - at).total_seconds()
    relative = "now" if abs(delta) < 1 else f"{human_age(delta)} ago" if delta > 0 else f"in {human_age(-delta)}"
    shown = _clock_time(at)
    if at.astimezone(UTC).date() == now.astimezone(UTC).date():
        shown = shown.split(" ", 1)[1]
    return f"{shown} ({relative})"


def _version_display(v: VersionStatus, now: datetime) -> dict[str, Any]:
    if v.released_at is not None:
        state = "released"
    elif v.dropped_at is not None:
        state = "dropped"
    elif v.failed_at is not None:
        state = "failed"
    elif v.embargo is not None and v.embargo > now:
        state = "held"
    else:
        state = "waiting"
    return {"story_id": v.story_id, "version": v.version, "status": v.status, "state": state,
            "headline": v.headline or "",
            "seen": when(v.seen_at, now), "released": when(v.released_at, now), "embargo": when(v.embargo, now)}


def _clock_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _fields(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in obj.__slots__:
        value = getattr(obj, name)
        out[name] = _iso(value) if isinstance(value, datetime) else value
    return out


_USERINFO_PASSWORD = re.compile(r"(://[^/\s:@]*):[^/\s@]*@")


def _redact(text: str | None) -> str | None:
    """A password in a URL's user info never reaches the page (wirepub's own URLs carry none; be sure)."""
    return None if text is None else _USERINFO_PASSWORD.sub(r"\1:***@", text)


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,                 # story ids and errors come from outside: escape everything
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(TEMPLATE)
