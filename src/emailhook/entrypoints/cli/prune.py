"""``emailhook prune``: delete processed inbox bodies past the retention."""

from __future__ import annotations

import click

from emailhook.composition.pulls import retention
from emailhook.entrypoints.cli.context import database, settings
from emailhook.entrypoints.cli.errors import reported
from emailhook.entrypoints.cli.progress import progress
from emailhook.service.receive.retention import Retention


@click.command("prune")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def prune(dry_run: bool) -> None:
    """Delete processed inbox bodies older than EMAILHOOK_INBOX_RETENTION_DAYS, drop raw events
    past EMAILHOOK_RAW_EVENT_RETENTION_DAYS, delete events past EMAILHOOK_EVENT_RETENTION_DAYS.

    Derived state, suppressions and the rollup stay; a pruned body cannot be replayed.
    """
    pruning = retention(settings(), database())
    if pruning is None:
        raise click.ClickException(
            "no retention is set (EMAILHOOK_INBOX_RETENTION_DAYS,"
            " EMAILHOOK_FAILED_BODY_RETENTION_DAYS, EMAILHOOK_RAW_EVENT_RETENTION_DAYS,"
            " EMAILHOOK_EVENT_RETENTION_DAYS): nothing to prune"
        )
    before = pruning.cutoff()
    bodies = pruning.prunes_bodies()
    with reported():
        total = pruning.prunable(before) if bodies else 0
        if dry_run:
            if bodies:
                click.echo(f"{total} bodies {_past(pruning)}")
            raw_before = pruning.raw_cutoff()
            if raw_before is not None:
                count = pruning.raw_prunable(raw_before)
                click.echo(f"{count} raw events received before {raw_before}")
            event_before = pruning.event_cutoff()
            if event_before is not None:
                count = pruning.events_prunable(event_before)
                click.echo(f"{count} events received before {event_before}")
            return
        if bodies:
            with progress("pruning bodies", total) as advance:
                done = pruning.prune(before, on_batch=advance)
            click.echo(f"{done.bodies} bodies {_past(pruning)} deleted ({done.batches} batches)")
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


def _past(pruning: Retention) -> str:
    """Say which bodies go: processed before the cutoff, failed ones received before theirs."""
    parts = []
    if (before := pruning.cutoff()) is not None:
        parts.append(f"processed before {before}")
    if (failed := pruning.failed_cutoff()) is not None:
        parts.append(f"dead-lettered or unrecognized, received before {failed}")
    return " or ".join(parts)
