"""init, push, run, retry, resend: the commands that publish."""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any

import click

from wirepub import app
from wirepub.cli.common import EXIT_FAILED, Context, command_config_option, fail, print_json, say
from wirepub.errors import WirepubError
from wirepub.logs import setup_logging
from wirepub.progress import LogLines, Stage
from wirepub.reports import PushReport


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
def init(directory: Path) -> None:
    """Write a starter wirepub.toml and a stories/ folder with one example story into DIRECTORY."""
    from wirepub.starter import write_starter

    try:
        written = write_starter(directory)
    except WirepubError as exc:
        fail(str(exc))
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"next: put stories into {directory / 'stories'} and run `wirepub push`")


class Bars:
    """On a terminal: one bar per stage (read, render, deliver), with its count and rate."""

    LABELS = {Stage.READ: "reading   ", Stage.RENDER: "rendering ", Stage.DELIVER: "delivering"}

    def __init__(self) -> None:
        self._bars: dict[Stage, Any] = {}

    def start(self, stage: Stage, total: int | None) -> None:
        if total:
            bar = click.progressbar(length=total, label=self.LABELS[stage], file=sys.stderr, show_pos=True,
                                    show_eta=True, width=30)
            self._bars[stage] = bar.__enter__()

    def advance(self, stage: Stage, n: int = 1) -> None:
        if stage in self._bars:
            self._bars[stage].update(n)

    def finish(self, stage: Stage) -> None:
        bar = self._bars.pop(stage, None)
        if bar is not None:
            bar.__exit__(None, None, None)


@click.command()
@command_config_option
@click.option("--source", "source", metavar="NAME|FOLDER",
              help="Only the configured source NAME (a pull source runs once, now); or a folder to take story files "
                   "from instead of the configured sources.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON, for scripts.")
@click.pass_obj
def push(obj: Context, source: str | None, as_json: bool) -> None:
    """Publish now: collect approved stories, render every format, validate, deliver.

    Stories under embargo are held and go out on the first push after their time. Files that cannot be
    published are moved to the rejected folder with a .error.txt that says why. Exit status 1 if anything
    was rejected or failed.
    """
    try:
        progress = Bars() if sys.stderr.isatty() and not as_json else LogLines()
        named = source is not None and any(s.name == source for s in obj.config.sources)
        report = app.push(obj.config, source=source if named else None,
                          source_dir=Path(source) if source is not None and not named else None, progress=progress)
    except WirepubError as exc:
        fail(str(exc))
    _problems(report)
    if as_json:
        print_json(_push_json(report))
    else:
        held = "".join(f"\n  held under embargo: {i} v{v} until {t.isoformat()}" for i, v, t in report.held)
        click.echo(
            f"{len(report.released)} released, {len(report.held)} held, {len(report.rejected)} rejected, "
            f"{len(report.failures)} failed, {report.unchanged} unchanged; {report.written} documents delivered "
            f"to {', '.join(report.destinations)}; {len(report.retrying)} to retry, {len(report.dead)} dead" + held
        )
    sys.exit(0 if report.ok else EXIT_FAILED)


def _problems(report: PushReport) -> None:
    for warning in report.warnings:
        say("warning", f"warning: {warning}")
    for name, error in report.source_errors.items():
        say("error", f"source {name} cannot be read: {error}")
    for rejection in report.rejected:
        say("error", f"rejected: {rejection.error}")
    for failure in report.failures:
        say("error", f"failed: {failure}")
    for retry_ in report.retrying:
        say("warning", f"will retry: {retry_}")
    for dead in report.dead:
        say("error", f"dead: {dead}")


def _push_json(report: PushReport) -> dict[str, object]:
    return {
        "new": [{"id": i, "version": v} for i, v in report.new],
        "released": [{"id": i, "version": v} for i, v in report.released],
        "held": [{"id": i, "version": v, "until": t.isoformat()} for i, v, t in report.held],
        "unchanged": report.unchanged,
        "rejected": [{"file": r.error.file, "field": r.error.field, "reason": r.error.reason} for r in report.rejected],
        "source_errors": report.source_errors,
        "failures": report.failures,
        "retrying": report.retrying,
        "dead": report.dead,
        "documents_written": report.written,
        "destinations": report.destinations,
        "warnings": report.warnings,
        "ok": report.ok,
    }


@click.command()
@command_config_option
@click.option("--listen", metavar="HOST:PORT", help="Serve /healthz, /metrics and the status page here "
              "(default: daemon.listen, 127.0.0.1:8787; port 0 picks a free one).")
@click.pass_obj
def run(obj: Context, listen: str | None) -> None:
    """Run the daemon until SIGTERM or SIGINT.

    Collects approved stories every daemon.interval seconds and at once when a file lands in the hot folder,
    releases embargoed stories at their second, delivers and retries, rebuilds feeds, and serves /healthz,
    /metrics and the status page. Any number of daemons may share one PostgreSQL store. Logs go to stderr,
    one JSON object per line unless stderr is a terminal.
    """
    from wirepub.daemon import Daemon

    setup_logging(logging.INFO if obj.verbose < 2 else logging.DEBUG)
    try:
        config = obj.config
        if listen is not None:
            config = dataclasses.replace(config, daemon=dataclasses.replace(config.daemon, listen=listen))
        code = Daemon(config).run()
    except WirepubError as exc:
        fail(str(exc))
    sys.exit(code)


def _delivered(result: app.Delivered, what: str, as_json: bool) -> None:
    for retry_ in result.retrying:
        say("warning", f"will retry: {retry_}")
    for dead in result.dead:
        say("error", f"dead: {dead}")
    if as_json:
        print_json({**dataclasses.asdict(result), "ok": result.ok})
    else:
        click.echo(f"{result.requeued} {what}; {result.written} delivered, {len(result.retrying)} to retry, "
                   f"{len(result.dead)} dead")
    sys.exit(0 if result.ok else EXIT_FAILED)


@click.command()
@command_config_option
@click.option("--partner", help="Only this partner's deliveries.")
@click.option("--dead", "include_dead", is_flag=True, help="Dead deliveries too (with a fresh set of attempts).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON, for scripts.")
@click.pass_obj
def retry(obj: Context, partner: str | None, include_dead: bool, as_json: bool) -> None:
    """Try failed deliveries now instead of waiting for their next attempt."""
    try:
        result = app.retry(obj.config, partner=partner, include_dead=include_dead)
    except WirepubError as exc:
        fail(str(exc))
    _delivered(result, "requeued", as_json)


@click.command()
@command_config_option
@click.argument("story_id")
@click.option("--partner", help="Only to this partner.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON, for scripts.")
@click.pass_obj
def resend(obj: Context, story_id: str, partner: str | None, as_json: bool) -> None:
    """Deliver the latest version of STORY_ID again, byte for byte, to the partners that had it."""
    try:
        result = app.resend(obj.config, story_id, partner=partner)
    except WirepubError as exc:
        fail(str(exc))
    if result.requeued == 0:
        fail(f"story {story_id} has no deliveries{' to ' + partner if partner else ''} to resend", EXIT_FAILED)
    _delivered(result, "documents resent", as_json)


@click.command()
@command_config_option
@click.argument("story_id")
@click.argument("version", type=click.IntRange(min=1))
@click.pass_obj
def drop(obj: Context, story_id: str, version: int) -> None:
    """Give up on VERSION of STORY_ID, never released (one that cannot be rendered, usually): it is never
    released, and `wirepub status` no longer reports it. To publish the story instead, drop a corrected file
    under the same version."""
    try:
        dropped = app.drop(obj.config, story_id, version)
    except WirepubError as exc:
        fail(str(exc))
    if not dropped:
        fail(f"story {story_id} has no unreleased version {version} to drop", EXIT_FAILED)
    click.echo(f"dropped {story_id} v{version}: it will not be released")


COMMANDS = (init, push, run, retry, resend, drop)
