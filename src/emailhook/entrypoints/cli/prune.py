"""``emailhook prune``: delete processed inbox bodies past the retention."""

from __future__ import annotations

import click

from emailhook.composition import retention
from emailhook.entrypoints.cli.context import database, settings
from emailhook.entrypoints.cli.errors import reported
from emailhook.entrypoints.cli.progress import progress


@click.command("prune")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def prune(dry_run: bool) -> None:
    """Delete processed inbox bodies older than EMAILHOOK_INBOX_RETENTION_DAYS, drop raw events
    past EMAILHOOK_RAW_EVENT_RETENTION_DAYS, delete events past EMAILHOOK_EVENT_RETENTION_DAYS.

    Derived state, suppressions and the rollup stay; a pruned body cannot be replayed.
    """
    pruning = retention(settings(), database())
    if pruning is None:
        raise click.ClickException("EMAILHOOK_INBOX_RETENTION_DAYS is not set: nothing to prune")
    before = pruning.cutoff()
    with reported():
        total = pruning.prunable(before)
        if dry_run:
            click.echo(f"{total} bodies processed before {before}")
            raw_before = pruning.raw_cutoff()
            if raw_before is not None:
                count = pruning.raw_prunable(raw_before)
                click.echo(f"{count} raw events received before {raw_before}")
            event_before = pruning.event_cutoff()
            if event_before is not None:
                count = pruning.events_prunable(event_before)
                click.echo(f"{count} events received before {event_before}")
            return
        with progress("pruning bodies", total) as advance:
            done = pruning.prune(before, on_batch=advance)
    click.echo(f"{done.bodies} bodies processed before {before} deleted ({done.batches} batches)")
    raw_before = pruning.raw_cutoff()
    if raw_before is not None:
        with reported():
            count = pruning.raw_prunable(raw_before)
            with progress("dropping raw events", count) as advance:
                stripped = pruning.prune_raw(raw_before, on_batch=advance)
        click.echo(f"{stripped} raw events received before {raw_before} dropped")
    event_before = pruning.event_cutoff()
    if event_before is not None:
        with reported():
            count = pruning.events_prunable(event_before)
            with progress("deleting events", count) as advance:
                deleted = pruning.prune_events(event_before, on_batch=advance)
        click.echo(f"{deleted} events received before {event_before} deleted (derived state kept)")
