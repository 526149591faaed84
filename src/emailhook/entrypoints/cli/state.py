"""``emailhook state``: the derived tables (contact status, counts, suppressions, rollup)."""

from __future__ import annotations

import click

from emailhook.entrypoints.cli.context import operators_service
from emailhook.entrypoints.cli.errors import reported
from emailhook.entrypoints.cli.progress import progress


@click.group("state")
def state_group() -> None:
    """Derived state: per-contact e-mail status, status counts, suppression list, rollup."""


@state_group.command("rebuild")
def state_rebuild() -> None:
    """Recompute the derived tables from every stored event (stop the workers first)."""
    operations = operators_service()
    with reported(), progress("rebuilding from events", operations.events_stored()) as advance:
        events = operations.rebuild(on_batch=advance)
    click.echo(f"derived state and dashboard rollup rebuilt from {events} events")
    click.echo(
        "(from the stored events, operators' removals and imported lists: pruned inbox bodies"
        " take nothing with them)"
    )
