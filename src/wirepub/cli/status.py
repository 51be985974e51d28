"""status and partners: what each partner has, and whether its destinations answer."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from wirepub import app
from wirepub.cli.common import EXIT_FAILED, Context, command_config_option, fail, print_json
from wirepub.config import Config
from wirepub.errors import WirepubError
from wirepub.urls import shown


@click.command()
@command_config_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON, for scripts and monitoring.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write the status page to FILE instead: the daemon's page as a static file, for sites that do "
                   "not run the daemon (regenerate it from cron).")
@click.option("--story", "story_id", metavar="ID", help="With --html: show where each version of story ID went.")
@click.pass_obj
def status(obj: Context, as_json: bool, html_file: Path | None, story_id: str | None) -> None:
    """Deliveries per partner: pending, delivered, failed (to retry), dead; the last error and the age of
    the oldest undelivered document. Exit status 1 if anything is dead."""
    if story_id is not None and html_file is None:
        fail("--story goes with --html: wirepub status --html FILE --story ID")
    try:
        if html_file is not None:
            result = app.write_status_page(obj.config, html_file, story=story_id)
        else:
            result = app.status(obj.config)
    except WirepubError as exc:
        fail(str(exc))
    if html_file is not None:
        click.echo(f"wrote {html_file}")
    elif as_json:
        print_json(result.partners)
    else:
        _print_status(result)
    sys.exit(0 if result.ok else EXIT_FAILED)


def _print_status(result: app.Status) -> None:
    for r in result.rejections:
        click.secho(f"rejected by source {r['source']}: {r['ref']}: {r['field'] or 'file'}: {r['reason']}", fg="red")
    for n in result.notices:
        click.secho(f"{n['kind']}: {n['subject'] if n['subject'] != '-' else n['node']}: {n['message']}", fg="red")
    for f in result.failed_versions:
        click.secho(f"failed version: {f['story_id']} v{f['version']} ({f['headline'] or ''}): {f['failure']}; "
                    f"fix it (a corrected file, same version) or `wirepub drop {f['story_id']} {f['version']}`",
                    fg="red")
    for h in result.held_back:
        click.secho(f"held back from {h['partner']} ({h['format']}): {h['story_id']} v{h['version']} breaks "
                    f"{h['rule']}: {h['message']}", fg="yellow")
    if result.store_bytes is not None:
        click.echo(f"store: {result.store_bytes / 1_000_000:.1f} MB")
    if not result.partners:
        click.echo("nothing delivered or waiting yet")
    else:
        click.echo(f"{'partner':20} {'pending':>8} {'delivered':>10} {'failed':>7} {'dead':>5} {'oldest pending':>15}")
        for r in result.partners:
            age = "-" if r["oldest_pending_seconds"] is None else f"{r['oldest_pending_seconds']:.0f}s"
            click.echo(f"{r['partner']:20} {r['pending']:>8} {r['delivered']:>10} {r['failed']:>7} {r['dead']:>5} "
                       f"{age:>15}")
            if r["last_error"]:
                click.secho(f"  last error: {r['last_error']}", fg="yellow")


@click.group(invoke_without_command=True)
@command_config_option
@click.pass_context
def partners(ctx: click.Context) -> None:
    """List the configured partners (`wirepub partners check` tries each destination)."""
    config = _listing_config(ctx)
    for p in config.partners if config is not None else ():
        click.echo(f"{p.name}: {', '.join(p.formats)}")
        for d in p.destinations:
            click.echo(f"  -> {shown(d.url)}")


@partners.command("check")
@command_config_option
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.pass_obj
def partners_check(obj: Context, as_json: bool) -> None:
    """Connect to every destination, authenticate, write and remove a probe; report per partner, with a warning
    where a destination is unsafe (plain ftp:// or http:// to another machine)."""
    try:
        results = app.check_partners(obj.config)
    except WirepubError as exc:
        fail(str(exc))
    if as_json:
        print_json([dataclasses.asdict(r) for r in results])
    else:
        for r in results:
            if r.ok:
                click.echo(f"{r.partner}: {r.destination}: ok")
            else:
                click.secho(f"{r.partner}: {r.destination}: FAILED: {r.error}", fg="red")
            if r.warning:
                click.secho(f"  warning: {r.warning}", fg="yellow")
    sys.exit(0 if all(r.ok for r in results) else EXIT_FAILED)


@click.group(invoke_without_command=True)
@command_config_option
@click.pass_context
def sources(ctx: click.Context) -> None:
    """List the configured sources (`wirepub sources check` tries each: connect, authenticate, read one)."""
    config = _listing_config(ctx)
    for s in config.sources if config is not None else ():
        where = s.options.get("path") or s.options.get("url") or s.options.get("bucket") or ""
        every = f", every {s.options['interval']:g} s" if "interval" in s.options else ""
        click.echo(f"{s.name}: {s.kind}{every}" + (f"  {shown(str(where))}" if where else ""))


@sources.command("check")
@command_config_option
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.pass_obj
def sources_check(obj: Context, name: str | None, as_json: bool) -> None:
    """Try every source (or the one NAME): connect, authenticate, read one; say what was found."""
    try:
        results = app.check_sources(obj.config, only=name)
    except WirepubError as exc:
        fail(str(exc))
    if as_json:
        print_json([dataclasses.asdict(r) for r in results])
    else:
        for r in results:
            if r.ok:
                click.echo(f"{r.source} ({r.kind}): ok: {r.found}")
            else:
                click.secho(f"{r.source} ({r.kind}): FAILED: {r.error}", fg="red")
    sys.exit(0 if results and all(r.ok for r in results) else EXIT_FAILED)


def _listing_config(ctx: click.Context) -> Config | None:
    """The config a group lists when run on its own; None when one of its commands runs instead."""
    if ctx.invoked_subcommand is not None:
        return None
    try:
        return ctx.find_object(Context).config  # type: ignore[union-attr]
    except WirepubError as exc:
        fail(str(exc))


COMMANDS = (status, partners, sources)
