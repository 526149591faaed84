"""What every command shares: the process's settings, and opening its database."""

from __future__ import annotations

import click

from emailhook.adapters.db.engine import Database
from emailhook.composition.commands import cli_database, operations
from emailhook.service.operations import Operations
from emailhook.settings import Settings


def settings() -> Settings:
    """Return the settings the ``emailhook`` group read for this command."""
    found: Settings = click.get_current_context().find_root().obj
    return found


def database() -> Database:
    """Return the configured database, with the worker's patient timeouts."""
    return cli_database(settings())


def operators_service() -> Operations:
    """Return the operators' service over the configured database."""
    return operations(settings(), database())
