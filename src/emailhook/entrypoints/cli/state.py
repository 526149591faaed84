"""``emailhook state``: the derived tables (contact status, counts, suppressions, rollup)."""

from __future__ import annotations

import click

from emailhook.entrypoints.cli.context import operators_service
from emailhook.entrypoints.cli.errors import reported


@click.group("state")
def state_group() -> None:
    """Derived state: per-contact e-mail status, status counts, suppression list, rollup."""


@state_group.command("rebuild")
def state_rebuild() -> None:
    """Recompute the derived tables from every stored event (stop the workers first)."""
    with reported():
        events = operators_service().rebuild()
    click.echo(f"derived state and dashboard rollup rebuilt from {events} events")
