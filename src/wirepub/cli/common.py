"""What every command shares: the configuration (--config before or after the command), and how results
and problems are said on stderr and stdout."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import click

from wirepub.config import Config, find_config, load_config

EXIT_FAILED = 1
EXIT_UNUSABLE = 2
COLOURS = {"warning": "yellow", "error": "red", "info": None}
F = TypeVar("F", bound=Callable[..., Any])


class Context:
    def __init__(self) -> None:
        self.config_path: str | None = None
        self.verbose = 0
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(find_config(self.config_path))
        return self._config


def _remember_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(Context).config_path = value


CONFIG_HELP = ("wirepub.toml to use (default: $WIREPUB_CONFIG, else ./wirepub.toml, else built-in defaults: "
               "stories from ./stories, store in ./.wirepub, everything into ./public).")


def config_option(f: F) -> F:
    """--config FILE on the group (and $WIREPUB_CONFIG)."""
    return click.option("--config", "-c", metavar="FILE", envvar="WIREPUB_CONFIG", expose_value=False,
                        is_eager=True, callback=_remember_config, help=CONFIG_HELP)(f)


def command_config_option(f: F) -> F:
    """--config FILE after the command too: `wirepub push --config x` as well as `wirepub --config x push`."""
    return click.option("--config", "-c", metavar="FILE", expose_value=False, is_eager=True,
                        callback=_remember_config, help=CONFIG_HELP)(f)


def say(level: str, text: str) -> None:
    """A line on stderr for a person (coloured) or, off a terminal, a JSON line like the log's."""
    if sys.stderr.isatty():
        click.secho(text, fg=COLOURS.get(level), err=True)
    else:
        click.echo(json.dumps({"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "level": level,
                               "logger": "wirepub.cli", "msg": text}, ensure_ascii=False), err=True)


def fail(message: str, code: int = EXIT_UNUSABLE) -> NoReturn:
    say("error", f"wirepub: {message}")
    sys.exit(code)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
