"""The ``emailhook`` console script: one group, its commands in the modules beside this one."""

from __future__ import annotations

import click

from emailhook.composition import load_settings
from emailhook.entrypoints.cli import (
    campaigns,
    inbox,
    prune,
    pulls,
    schema,
    sending,
    serving,
    spool,
    state,
    suppressions,
)
from emailhook.observability import configure


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """emailhook: webhooks in, each event stored once; e-mail out, each message sent once."""
    settings = load_settings()
    configure(settings, metrics=False)
    ctx.obj = settings


suppressions.suppressions_group.add_command(pulls.sync)
for command in (
    *serving.COMMANDS,
    *inbox.COMMANDS,
    *sending.COMMANDS,
    *campaigns.COMMANDS,
    schema.db,
    state.state_group,
    spool.spool_group,
    suppressions.suppressions_group,
    pulls.reconcile,
    prune.prune,
):
    main.add_command(command)
