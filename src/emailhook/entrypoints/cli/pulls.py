"""Commands that read Infobip's API: reconcile from its e-mail logs, sync suppressions."""

from __future__ import annotations

import logging
import sys

import click
import orjson

from emailhook.composition.commands import cli_processor
from emailhook.composition.pulls import reconciler, suppression_sync
from emailhook.domain.reconciliation_plan import parse_since
from emailhook.entrypoints.cli.context import database, settings
from emailhook.entrypoints.cli.errors import reported

log = logging.getLogger("emailhook.reconcile")

_NO_CREDENTIALS = (
    "Infobip's API is not configured: set EMAILHOOK_INFOBIP_BASE_URL and EMAILHOOK_INFOBIP_API_KEY"
)
#: without a terminal, a progress line in the log every this many pages
_LOG_EVERY_PAGES = 10


def _progress(pages: int, new: int) -> None:
    if sys.stderr.isatty():
        click.echo(f"\r{pages} pages read, {new} events new", nl=False, err=True)
    elif pages % _LOG_EVERY_PAGES == 0:
        log.info("reconcile: %d pages read, %d events new so far", pages, new)


@click.command()
@click.option(
    "--since",
    "since_text",
    default=None,
    help="How far back: 48h, 90m, 2d (default: from the last completed run; at most 48h).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run's report as JSON.")
def reconcile(since_text: str | None, as_json: bool) -> None:
    """Store the final delivery reports of Infobip's e-mail logs that no webhook delivered."""
    try:
        since = parse_since(since_text) if since_text else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--since") from error
    db = database()
    found = reconciler(settings(), db, lambda: cli_processor(settings(), db))
    if found is None:
        raise click.ClickException(_NO_CREDENTIALS)
    with reported():
        report = found.run(since, progress=_progress)
    if sys.stderr.isatty():
        click.echo("", err=True)
    if as_json:
        click.echo(orjson.dumps(report.as_dict()).decode())
    else:
        for name, value in report.as_dict().items():
            click.echo(f"{name:>14}: {value}")
    if not report.completed:
        raise click.ClickException(f"the run stopped, the watermark did not move: {report.error}")


@click.command("sync")
@click.option("--json", "as_json", is_flag=True, help="Print the run's report as JSON.")
def sync(as_json: bool) -> None:
    """Import Infobip's suppression list and e-mail blocklist (and export ours, if enabled)."""
    found = suppression_sync(settings(), database())
    if found is None:
        raise click.ClickException(_NO_CREDENTIALS)
    with reported():
        report = found.run()
    if as_json:
        click.echo(orjson.dumps(report.as_dict()).decode())
    else:
        for name, value in report.as_dict().items():
            click.echo(f"{name:>9}: {value}")
    if not report.completed:
        raise click.ClickException(f"the sync stopped: {report.error}")
