"""render and validate: one document at a time."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from wirepub import app
from wirepub.cli.common import EXIT_FAILED, Context, command_config_option, fail, print_json
from wirepub.errors import WirepubError
from wirepub.formats import registry as formats


@click.command()
@command_config_option
@click.argument("story")
@click.option("--format", "-f", "format_name", required=True, type=click.Choice(formats.names()),
              help="The format to render.")
@click.option("--partner", help="Use this partner's templates.")
@click.option("--no-validate", is_flag=True, help="Print the document even if it fails its schema.")
@click.pass_obj
def render(obj: Context, story: str, format_name: str, partner: str | None, no_validate: bool) -> None:
    """Render STORY to stdout in one format: a story file, or the id of a recorded story (its latest
    version). A feed format gives a feed of just this story."""
    try:
        rendered = app.render(obj.config, story, format_name, partner=partner, validate=not no_validate)
    except WirepubError as exc:
        fail(str(exc), EXIT_FAILED)
    sys.stdout.buffer.write(rendered.data)


@click.command()
@command_config_option
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON, for scripts.")
@click.pass_obj
def validate(obj: Context, files: tuple[Path, ...], as_json: bool) -> None:
    """Check documents (any format wirepub writes) or story files against their schemas.

    The kind of each file is detected from its content. Exit status 1 if any file is invalid.
    """
    try:
        results = app.validate(obj.config, list(files))
    except WirepubError as exc:
        fail(str(exc))
    if as_json:
        print_json([dataclasses.asdict(r) for r in results])
    else:
        for r in results:
            if r.valid and r.note:
                click.secho(f"{r.file}: valid {r.standard} ({r.format}); note: {r.note}", fg="yellow")
            elif r.valid:
                click.echo(f"{r.file}: valid {r.format}" + (f" ({r.standard})" if r.standard else ""))
            else:
                click.secho(f"{r.file}: INVALID: {r.error}", fg="red")
    sys.exit(0 if all(r.valid for r in results) else EXIT_FAILED)


COMMANDS = (render, validate)
