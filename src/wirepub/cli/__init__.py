"""The wirepub command: parse options, call a use case (wirepub.app), print its result. No business logic.

Exit status: 0 all went well; 1 something was rejected, failed or is dead (stderr says what); 2 wirepub
could not start (configuration or usage). On a terminal stderr is for people (colours); off one it carries
one kind of line, JSON objects like the log's, so a log collector reads all of it.
"""

from __future__ import annotations

import logging

import click

from wirepub import __version__
from wirepub.cli.common import Context, config_option
from wirepub.logs import setup_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@config_option
@click.option("-v", "--verbose", count=True, help="Log what happens (-vv for more).")
@click.version_option(__version__, prog_name="wirepub")
@click.pass_context
def main(ctx: click.Context, verbose: int) -> None:
    """wirepub publishes approved stories to partners as NewsML-G2, RSS 2.0 and JSON Feed 1.1.

    \b
    Typical use:
      wirepub init                 write a starter wirepub.toml and a stories/ folder
      wirepub push                 publish what is in the stories folder, now
      wirepub run                  the daemon: collect, release at embargo time, deliver, retry
      wirepub render STORY -f rss  show the document a story (a file, or a recorded id) becomes
      wirepub validate FILE...     check documents against their schemas
      wirepub status               what each partner has, and what is waiting or failing
      wirepub retry / resend       try failed deliveries now / send a story again
      wirepub partners check       try every destination with a probe
    """
    setup_logging(logging.WARNING - 10 * min(verbose, 2))
    ctx.ensure_object(Context).verbose = verbose


def _register() -> None:
    from wirepub.cli import documents, publish, status

    for module in (publish, documents, status):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
