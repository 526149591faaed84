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
@click.option(
    "--force",
    is_flag=True,
    help="Rebuild even after events were pruned (losing the history they made).",
)
def state_rebuild(force: bool) -> None:
    """Recompute the derived tables from every stored event (stop the workers first)."""
    operations = operators_service()
    with reported():
        pruned = operations.events_pruned_before()
    if pruned is not None:
        warning = (
            f"events received before {pruned} were pruned (EMAILHOOK_EVENT_RETENTION_DAYS):"
            " the contact state, suppressions and rollup they made cannot be rebuilt"
        )
        if not force:
            raise click.ClickException(f"{warning}; --force rebuilds from the events left")
        click.echo(f"warning: {warning}; rebuilding from the events left", err=True)
    with reported(), progress("rebuilding from events", operations.events_stored()) as advance:
        events = operations.rebuild(on_batch=advance)
    click.echo(f"derived state and dashboard rollup rebuilt from {events} events")
    with reported():
        flagged, first = operations.flagged_events()
    if flagged:
        shown = ", ".join(str(i) for i in first) + (", ..." if flagged > len(first) else "")
        click.echo(
            f"{flagged} events flagged: their recipient is not an e-mail address; kept, left"
            f" out of contact state and suppressions (ids {shown})"
        )
    click.echo(
        "(from the stored events, operators' removals and imported lists: pruned inbox bodies"
        " take nothing with them)"
    )
