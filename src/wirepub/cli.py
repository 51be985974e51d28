"""The wirepub command: parse options, call the publisher, print. No business logic here.

Exit status: 0 all went well; 1 something was rejected or failed (the summary says what);
2 wirepub could not start (bad configuration, bad usage).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from wirepub import __version__
from wirepub.config import Config, find_config, load_config
from wirepub.errors import WirepubError
from wirepub.logs import setup_logging

EXIT_FAILED = 1
EXIT_UNUSABLE = 2


class _Context:
    def __init__(self, config_path: str | None, verbose: int) -> None:
        self.config_path = config_path
        self.verbose = verbose
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(find_config(self.config_path))
        return self._config


def _fail(message: str, code: int = EXIT_UNUSABLE) -> None:
    click.secho(f"wirepub: {message}", fg="red", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "-c", "config_path", envvar="WIREPUB_CONFIG", metavar="FILE",
              help="wirepub.toml to use (default: $WIREPUB_CONFIG, else ./wirepub.toml, else built-in defaults: "
                   "stories from ./stories, store in ./.wirepub, everything into ./public).")
@click.option("-v", "--verbose", count=True, help="Log what happens (-vv for more).")
@click.version_option(__version__, prog_name="wirepub")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """wirepub publishes approved stories to partners as NewsML-G2, RSS 2.0 and JSON Feed 1.1.

    \b
    Typical use:
      wirepub init                 write a starter wirepub.toml and a stories/ folder
      wirepub push                 publish what is in the stories folder, now
      wirepub run                  the daemon: collect, release at embargo time, deliver, retry
      wirepub render FILE -f rss   show the document a story becomes
      wirepub validate FILE...     check documents against their schemas
      wirepub status               what each partner has, and what is waiting or failing
      wirepub retry / resend       try failed deliveries now / send a story again
      wirepub partners check       try every destination with a probe
    """
    setup_logging(logging.WARNING - 10 * min(verbose, 2))
    ctx.obj = _Context(config_path, verbose)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
def init(directory: Path) -> None:
    """Write a starter wirepub.toml and a stories/ folder with one example story into DIRECTORY."""
    from wirepub.starter import write_starter

    try:
        written = write_starter(directory)
    except WirepubError as exc:
        _fail(str(exc))
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"next: put stories into {directory / 'stories'} and run `wirepub push`")


@main.command()
@click.option("--source", "source_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Take stories from this folder instead of the configured one.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON, for scripts.")
@click.pass_obj
def push(obj: _Context, source_dir: Path | None, as_json: bool) -> None:
    """Publish now: collect approved stories, render every format, validate, deliver.

    Stories under embargo are held and go out on the first push after their time. Files that cannot be
    published are moved to the rejected folder with a .error.txt that says why. Exit status 1 if anything
    was rejected or failed.
    """
    import dataclasses

    from wirepub.publisher import Publisher
    from wirepub.store import Store

    try:
        config = obj.config
        if source_dir is not None:
            source = source_dir.resolve()
            config = dataclasses.replace(config, source_path=source, rejected_path=source / "rejected")
        store = Store(config.store_url)
        publisher = Publisher(config, store)
        if sys.stderr.isatty() and not as_json:
            def bar(items: Any) -> Any:
                items = list(items)
                with click.progressbar(items, label="publishing", file=sys.stderr) as shown:
                    yield from shown
            report = publisher.push(progress=bar)
        else:
            report = publisher.push()
        publisher.close()
        store.close()
    except WirepubError as exc:
        _fail(str(exc))
    for warning in report.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    for rejection in report.rejected:
        click.secho(f"rejected: {rejection.error}", fg="red", err=True)
    for failure in report.failures:
        click.secho(f"failed: {failure}", fg="red", err=True)
    for retry in report.retrying:
        click.secho(f"will retry: {retry}", fg="yellow", err=True)
    for dead in report.dead:
        click.secho(f"dead: {dead}", fg="red", err=True)
    if as_json:
        click.echo(json.dumps({
            "new": [{"id": i, "version": v} for i, v in report.new],
            "released": [{"id": i, "version": v} for i, v in report.released],
            "held": [{"id": i, "version": v, "until": t.isoformat()} for i, v, t in report.held],
            "unchanged": report.unchanged,
            "rejected": [{"file": r.error.file, "field": r.error.field, "reason": r.error.reason}
                         for r in report.rejected],
            "failures": report.failures,
            "retrying": report.retrying,
            "dead": report.dead,
            "documents_written": report.written,
            "destinations": report.destinations,
            "ok": report.ok,
        }, indent=2))
    else:
        held = "".join(f"\n  held under embargo: {i} v{v} until {t.isoformat()}" for i, v, t in report.held)
        click.echo(
            f"{len(report.released)} released, {len(report.held)} held, {len(report.rejected)} rejected, "
            f"{len(report.failures)} failed, {report.unchanged} unchanged; {report.written} documents delivered "
            f"to {', '.join(report.destinations)}; {len(report.retrying)} to retry, {len(report.dead)} dead" + held
        )
    sys.exit(0 if report.ok else EXIT_FAILED)


@main.command()
@click.option("--listen", metavar="HOST:PORT", help="Serve /healthz, /metrics and the status page here "
              "(default: daemon.listen, 127.0.0.1:8787; port 0 picks a free one).")
@click.pass_obj
def run(obj: _Context, listen: str | None) -> None:
    """Run the daemon until SIGTERM or SIGINT.

    Collects approved stories every daemon.interval seconds and at once when a file lands in the hot folder,
    releases embargoed stories at their second, delivers and retries, rebuilds feeds, and serves /healthz,
    /metrics and the status page. Any number of daemons may share one PostgreSQL store. Logs go to stderr,
    one JSON object per line unless stderr is a terminal.
    """
    import dataclasses

    from wirepub.daemon import Daemon

    setup_logging(logging.INFO if obj.verbose < 2 else logging.DEBUG)
    try:
        config = obj.config
        if listen is not None:
            config = dataclasses.replace(config, daemon=dataclasses.replace(config.daemon, listen=listen))
        daemon = Daemon(config)
        code = daemon.run()
    except WirepubError as exc:
        _fail(str(exc))
    sys.exit(code)


@main.command()
@click.argument("story", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "-f", "format_name", required=True,
              type=click.Choice(["newsml-g2", "rss", "jsonfeed"]), help="The format to render.")
@click.option("--partner", help="Use this partner's template override.")
@click.option("--no-validate", is_flag=True, help="Print the document even if it fails its schema.")
@click.pass_obj
def render(obj: _Context, story: Path, format_name: str, partner: str | None, no_validate: bool) -> None:
    """Render one story file to stdout in one format (a feed format gives a feed of just this story)."""
    from wirepub.publisher import Publisher
    from wirepub.store import Store

    try:
        config = obj.config
        data = Publisher(config, Store("sqlite://")).render_file(
            story, format_name, partner=partner, validate=not no_validate)
    except WirepubError as exc:
        _fail(str(exc), EXIT_FAILED)
    sys.stdout.buffer.write(data)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON, for scripts.")
@click.pass_obj
def validate(obj: _Context, files: tuple[Path, ...], as_json: bool) -> None:
    """Check documents (NewsML-G2, RSS, JSON Feed) or story files against their schemas.

    The kind of each file is detected from its content. Exit status 1 if any file is invalid.
    """
    from wirepub.publisher import Publisher
    from wirepub.store import Store

    try:
        publisher = Publisher(obj.config, Store("sqlite://"))
    except WirepubError as exc:
        _fail(str(exc))
    results = []
    for path in files:
        try:
            kind = publisher.validate_file(path)
            results.append({"file": str(path), "format": kind, "valid": True, "error": None})
        except WirepubError as exc:
            results.append({"file": str(path), "format": getattr(exc, "format", None), "valid": False,
                            "error": str(exc)})
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        for r in results:
            if r["valid"]:
                click.echo(f"{r['file']}: valid {r['format']}")
            else:
                click.secho(f"{r['file']}: INVALID: {r['error']}", fg="red")
    sys.exit(0 if all(r["valid"] for r in results) else EXIT_FAILED)


def _open(obj: _Context) -> tuple[Any, Any]:
    from wirepub.publisher import Publisher
    from wirepub.store import Store

    config = obj.config
    store = Store(config.store_url)
    return Publisher(config, store), store


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON, for scripts and monitoring.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write the status page to FILE instead: the daemon's page as a static file, for sites that do "
                   "not run the daemon (regenerate it from cron).")
@click.option("--story", "story_id", metavar="ID", help="With --html: show where each version of story ID went.")
@click.pass_obj
def status(obj: _Context, as_json: bool, html_file: Path | None, story_id: str | None) -> None:
    """Deliveries per partner: pending, delivered, failed (to retry), dead; the last error and the age of
    the oldest undelivered document. Exit status 1 if anything is dead."""
    if story_id is not None and html_file is None:
        _fail("--story goes with --html: wirepub status --html FILE --story ID")
    try:
        publisher, store = _open(obj)
        now = publisher.clock.now()
        rows = store.status(now)
        if html_file is not None:
            from wirepub.statuspage import write_status_page

            write_status_page(store, now, html_file, story=story_id)
        store.close()
    except WirepubError as exc:
        _fail(str(exc))
    if html_file is not None:
        click.echo(f"wrote {html_file}")
    elif as_json:
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo("nothing delivered or waiting yet")
    else:
        click.echo(f"{'partner':20} {'pending':>8} {'delivered':>10} {'failed':>7} {'dead':>5} {'oldest pending':>15}")
        for r in rows:
            age = "-" if r["oldest_pending_seconds"] is None else f"{r['oldest_pending_seconds']:.0f}s"
            click.echo(f"{r['partner']:20} {r['pending']:>8} {r['delivered']:>10} {r['failed']:>7} {r['dead']:>5} "
                       f"{age:>15}")
            if r["last_error"]:
                click.secho(f"  last error: {r['last_error']}", fg="yellow")
    sys.exit(EXIT_FAILED if any(r["dead"] for r in rows) else 0)


@main.command()
@click.option("--partner", help="Only this partner's deliveries.")
@click.option("--dead", "include_dead", is_flag=True, help="Dead deliveries too (with a fresh set of attempts).")
@click.pass_obj
def retry(obj: _Context, partner: str | None, include_dead: bool) -> None:
    """Try failed deliveries now instead of waiting for their next attempt."""
    from wirepub.publisher import PushReport

    try:
        publisher, store = _open(obj)
        count = store.requeue(now=publisher.clock.now(), partner=partner, include_dead=include_dead)
        report = PushReport()
        publisher.deliver(report)
        publisher.close()
        store.close()
    except WirepubError as exc:
        _fail(str(exc))
    click.echo(f"{count} requeued; {report.written} delivered, {len(report.retrying)} to retry, "
               f"{len(report.dead)} dead")
    sys.exit(0 if not (report.retrying or report.dead) else EXIT_FAILED)


@main.command()
@click.argument("story_id")
@click.option("--partner", help="Only to this partner.")
@click.pass_obj
def resend(obj: _Context, story_id: str, partner: str | None) -> None:
    """Deliver the latest version of STORY_ID again, byte for byte, to the partners that had it."""
    from wirepub.publisher import PushReport

    try:
        publisher, store = _open(obj)
        count = store.resend(story_id, now=publisher.clock.now(), partner=partner)
        if count == 0:
            _fail(f"story {story_id} has no deliveries{' to ' + partner if partner else ''} to resend", EXIT_FAILED)
        report = PushReport()
        publisher.deliver(report)
        publisher.close()
        store.close()
    except WirepubError as exc:
        _fail(str(exc))
    click.echo(f"{count} documents resent; {report.written} delivered, {len(report.retrying)} to retry")
    sys.exit(0 if not (report.retrying or report.dead) else EXIT_FAILED)


@main.group(invoke_without_command=True)
@click.pass_context
def partners(ctx: click.Context) -> None:
    """List the configured partners (`wirepub partners check` tries each destination)."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        config = ctx.obj.config
    except WirepubError as exc:
        _fail(str(exc))
    for p in config.partners:
        click.echo(f"{p.name}: {', '.join(p.formats)}")
        for d in p.destinations:
            click.echo(f"  -> {d.url}")


@partners.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.pass_obj
def partners_check(obj: _Context, as_json: bool) -> None:
    """Connect to every destination, authenticate, write and remove a probe; report per partner."""
    from wirepub.transports import open_transport

    try:
        config = obj.config
    except WirepubError as exc:
        _fail(str(exc))
    results = []
    for p in config.partners:
        for d in p.destinations:
            try:
                transport = open_transport(d, base_dir=config.base_dir)
                try:
                    transport.probe()
                finally:
                    transport.close()
                results.append({"partner": p.name, "destination": d.url, "ok": True, "error": None})
            except WirepubError as exc:
                results.append({"partner": p.name, "destination": d.url, "ok": False, "error": str(exc)})
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        for r in results:
            if r["ok"]:
                click.echo(f"{r['partner']}: {r['destination']}: ok")
            else:
                click.secho(f"{r['partner']}: {r['destination']}: FAILED: {r['error']}", fg="red")
    sys.exit(0 if all(r["ok"] for r in results) else EXIT_FAILED)


if __name__ == "__main__":  # pragma: no cover
    main()
