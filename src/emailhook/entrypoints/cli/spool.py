"""``emailhook spool``: accepted bodies on a web machine's disk, not yet in the inbox."""

from __future__ import annotations

from pathlib import Path

import click

from emailhook.entrypoints.cli.context import database
from emailhook.service.receive.spool_recovery import recover_folder


@click.group("spool")
def spool_group() -> None:
    """Accepted bodies on a web machine's disk, not yet in the inbox."""


@spool_group.command("recover")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def spool_recover(folder: Path) -> None:
    """Move the bodies of a spool folder carried from a lost machine into the inbox, once."""
    done = recover_folder(database().engine, folder)
    click.echo(f"{done.bodies} bodies moved into the inbox from {done.segments} segments")
    if done.left:
        raise click.ClickException(f"{len(done.left)} segments are written by a live process")
