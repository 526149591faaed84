"""``emailhook db``: the database schema."""

from __future__ import annotations

import click

from emailhook.adapters.db.engine import create_db_engine, migrate
from emailhook.adapters.db.schema import check, upgrade
from emailhook.entrypoints.cli.context import settings


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration."""
    migrate(settings())
    click.echo("database is up to date")


@db.command("check")
def db_check() -> None:
    """Fail if the models hold changes that no migration has."""
    configured = settings()
    engine = create_db_engine(
        configured, lock_timeout_seconds=configured.worker_lock_timeout_seconds
    )
    upgrade(engine)
    check(engine)
    click.echo("migrations match the models")
