"""Commands over the suppression list: take an address off it, sync it with Infobip's."""

from __future__ import annotations

import getpass

import click

from emailhook.entrypoints.cli.context import operators_service
from emailhook.entrypoints.cli.errors import reported
from emailhook.entrypoints.cli.pulls import sync


@click.group("suppressions")
def suppressions_group() -> None:
    """The suppression list: remove an address, sync with Infobip's lists."""


@suppressions_group.command("remove")
@click.argument("email")
@click.option("--reason", required=True, help="Why (recorded with who and when).")
@click.option("--operator", default=None, help="Who removes it. Default: the login name.")
def remove(email: str, reason: str, operator: str | None) -> None:
    """Take EMAIL off the suppression list; an event after now suppresses it again."""
    with reported():
        removal = operators_service().remove_suppression(
            email, reason=reason, operator=operator or getpass.getuser()
        )
    if removal.was_reason is None:
        click.echo(f"{removal.email} was not on the list; the removal is recorded all the same")
    click.echo(
        f"{removal.email} removed at {removal.removed_at.isoformat()} by {removal.operator}"
        f" (was {removal.was_reason}, source {removal.was_source}): {removal.reason}"
    )


suppressions_group.add_command(sync)
