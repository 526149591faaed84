"""What a one-off command (the CLI, a test) opens: the database and the operators' service."""

from __future__ import annotations

from emailhook.adapters.db.engine import Database, open_database
from emailhook.composition.policies import soft_bounce_rule
from emailhook.composition.processing import processor
from emailhook.service.operations import Operations
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings


def cli_database(settings: Settings) -> Database:
    """Return the database as a command uses it: the worker's patient timeouts."""
    return open_database(settings, lock_timeout_seconds=settings.worker_lock_timeout_seconds)


def operations(settings: Settings, database: Database, reads: Database | None = None) -> Operations:
    """Return the operators' service over ``database`` (and ``reads`` for what only reads)."""
    return Operations(
        database,
        reads or database,
        spool_dir=settings.resolved_spool_dir,
        soft_bounces=soft_bounce_rule(settings),
    )


def cli_processor(settings: Settings, database: Database) -> Processor:
    """Return a processor for a command (reconcile stores what it finds through it)."""
    return processor(settings, database.sessions)
