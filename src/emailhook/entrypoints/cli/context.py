"""What every command shares: the process's settings, opening its database, its services."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # imported where used: `emailhook serve` and `worker` need none of them
    from emailhook.adapters.db.engine import Database
    from emailhook.composition.send import SendWeb
    from emailhook.service.operations import Operations
    from emailhook.settings import Settings

#: where the command's database is kept (``click.Context.meta`` of the root context)
_DATABASE = "emailhook.database"


def settings() -> Settings:
    """Return the settings the ``emailhook`` group read for this command."""
    found: Settings = click.get_current_context().find_root().obj
    return found


def database() -> Database:
    """Return the configured database, with the worker's patient timeouts: opened once per
    command, its connections closed when the command ends."""
    from emailhook.composition.commands import cli_database

    root = click.get_current_context().find_root()
    found: Database | None = root.meta.get(_DATABASE)
    if found is None:
        found = root.meta[_DATABASE] = cli_database(settings())
        root.call_on_close(found.engine.dispose)
    return found


def operators_service() -> Operations:
    """Return the operators' service over the configured database."""
    from emailhook.composition.commands import operations

    return operations(settings(), database())


def send_services() -> SendWeb:
    """Return the send side's services over the configured database: the same send API
    (suppression list, outbox, Idempotency-Key) and reads as ``POST /messages`` and
    ``GET /messages``. No send key is asked: who runs a command holds the settings."""
    from emailhook.composition.send import send_web

    db = database()
    return send_web(settings(), db.sessions, db.sessions)
