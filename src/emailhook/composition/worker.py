"""A worker process's services: its processor, its relay and spool sweep, its periodic jobs.

Each part is opened in the process that uses it (Celery's pool forks: connections are opened
after the fork); starting threads is the worker entrypoint's business.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.engine import PerProcess, open_database, open_read_only_database
from emailhook.adapters.intake.spool_promoter import SpoolPromoter
from emailhook.composition import send
from emailhook.composition.policies import relay_policy
from emailhook.composition.processing import parsers, processor
from emailhook.composition.pulls import PeriodicJob, periodic_jobs
from emailhook.service.receive.processing import Processor
from emailhook.service.receive.relay import Publish, Relay
from emailhook.service.send.dispatch import Dispatcher
from emailhook.service.send.relay import PublishSend, SendRelay
from emailhook.settings import Settings


@dataclass(frozen=True, slots=True)
class WorkerServices:
    """What a worker process stores with."""

    settings: Settings
    #: this process's processor
    processor: Callable[[], Processor]
    #: the relay (inbox -> queue through ``publish``) of this process
    relay: Callable[[Publish], Relay]
    #: the sweep that promotes the spools of web servers that stopped (and, unless
    #: ``spool_mover=web``, of the running ones)
    sweeper: Callable[[], SpoolPromoter]
    #: reconciliation, suppression sync and the prune, as far as settings turn them on
    periodic: Callable[[], list[PeriodicJob]]
    #: this process's dispatcher (the ``email-send`` task's service)
    dispatcher: Callable[[], Dispatcher]
    #: the send relay (outbox -> ``email-send``) of this process
    send_relay: Callable[[PublishSend], SendRelay]


def worker_services(settings: Settings) -> WorkerServices:
    """Return a worker's services."""
    databases = PerProcess(
        lambda: open_database(settings, lock_timeout_seconds=settings.worker_lock_timeout_seconds)
    )
    # On SQLite, bodies are loaded (and idle relay passes read) without the write lock.
    readers = _sqlite_readers(settings)
    by_name = parsers(settings)

    def this_processor() -> Processor:
        return processor(settings, databases.get().sessions, readers=readers(), by_name=by_name)

    def relay(publish: Publish) -> Relay:
        return Relay(databases.get().sessions, publish, relay_policy(settings), readers=readers())

    def sweeper() -> SpoolPromoter:
        return SpoolPromoter(databases.get().engine, settings.resolved_spool_dir)

    def periodic() -> list[PeriodicJob]:
        return periodic_jobs(settings, databases.get(), this_processor)

    dispatchers = PerProcess(lambda: send.dispatcher(settings, databases.get().sessions))

    def send_relay(publish: PublishSend) -> SendRelay:
        return send.send_relay(settings, databases.get().sessions, publish, readers())

    return WorkerServices(
        settings, this_processor, relay, sweeper, periodic, dispatchers.get, send_relay
    )


def _sqlite_readers(settings: Settings) -> Callable[[], sessionmaker[Session] | None]:
    """Read-only sessions of this process on SQLite (WAL gives readers a snapshot while a
    writer holds the one write lock), or None elsewhere, where reads wait for no writer."""
    if not settings.uses_sqlite:
        return lambda: None
    readers = PerProcess(lambda: open_read_only_database(settings))
    return lambda: readers.get().sessions
