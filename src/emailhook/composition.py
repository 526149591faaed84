"""The composition root: every service of a process, built here from one Settings.

The web app, the Celery app and the CLI each get ready-made services from this module and do
nothing but translate requests, tasks and commands into calls of them. ``load_settings`` is the
only place the environment is read; a child process gets its configuration from the
environment it was started with, never from a parent changing its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.engine import (
    Database,
    PerProcess,
    open_database,
    open_read_only_database,
)
from emailhook.adapters.http_fetch import fetch as https_fetch
from emailhook.adapters.infobip.api import InfobipApi
from emailhook.adapters.intake.group_commit import GroupCommitWriter
from emailhook.adapters.intake.spool import SpoolWriter
from emailhook.adapters.intake.spool_promoter import SpoolPromoter
from emailhook.domain.suppression import SoftBounceRule
from emailhook.entrypoints.web.operators import OperatorAuth
from emailhook.entrypoints.worker.periodic import start_every
from emailhook.observability.metrics import (
    record_events_pruned,
    record_pruned,
    record_raw_pruned,
    record_reconciled,
)
from emailhook.providers.base import Fetch, Provider
from emailhook.providers.infobip.webhook import NAME as INFOBIP
from emailhook.providers.registry import PROVIDERS
from emailhook.service.operations import Operations
from emailhook.service.receive.auth import WebhookAuth, require_authentication
from emailhook.service.receive.intake import BodyWriter, Intake
from emailhook.service.receive.processing import Processor, RetryPolicy
from emailhook.service.receive.reconciler import Reconciler
from emailhook.service.receive.relay import Publish, Relay, RelayPolicy
from emailhook.service.receive.retention import Retention
from emailhook.service.receive.suppression_sync import SuppressionSync
from emailhook.service.receive.webhooks import ProviderWebhooks
from emailhook.settings import Settings

if TYPE_CHECKING:
    from celery import Celery
    from flask import Flask


def load_settings() -> Settings:
    """Return this process's settings, read from its environment."""
    return Settings()


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.max_attempts,
        backoff_seconds=settings.retry_backoff_seconds,
        backoff_max_seconds=settings.retry_backoff_max_seconds,
    )


def soft_bounce_rule(settings: Settings) -> SoftBounceRule:
    return SoftBounceRule(
        limit=settings.soft_bounce_limit,
        window=timedelta(days=settings.soft_bounce_window_days),
        suppress_for=(
            timedelta(days=settings.soft_bounce_suppression_days)
            if settings.soft_bounce_suppression_days > 0
            else None
        ),
    )


def relay_policy(settings: Settings) -> RelayPolicy:
    return RelayPolicy(
        batch_bodies=settings.relay_batch_bodies,
        batch_events=settings.relay_batch_events,
        max_in_flight_messages=settings.relay_max_in_flight,
        redelivery_seconds=settings.redelivery_seconds,
        max_deliveries=settings.max_deliveries,
        poll_seconds=settings.relay_poll_seconds,
    )


def operations(settings: Settings, database: Database, reads: Database | None = None) -> Operations:
    """Return the operators' service over ``database`` (and ``reads`` for what only reads)."""
    return Operations(
        database,
        reads or database,
        spool_dir=settings.resolved_spool_dir,
        soft_bounces=soft_bounce_rule(settings),
    )


def infobip_api(settings: Settings) -> Callable[[], InfobipApi] | None:
    """Return a maker of clients of Infobip's API, or None while no credentials are set."""
    credentials = settings.infobip_api
    if credentials is None:
        return None
    base_url, api_key = credentials
    return lambda: InfobipApi(base_url, api_key)


def reconciler(
    settings: Settings, database: Database, processor: Callable[[], Processor]
) -> Reconciler | None:
    """Return the reconciler over ``database``, or None while no Infobip credentials are set."""
    api = infobip_api(settings)
    if api is None:
        return None
    return Reconciler(database.sessions, processor, api, on_new_events=record_reconciled)


def suppression_sync(settings: Settings, database: Database) -> SuppressionSync | None:
    """Return the suppression sync over ``database``, or None without Infobip credentials."""
    api = infobip_api(settings)
    if api is None:
        return None
    return SuppressionSync(
        database.sessions,
        api,
        soft_bounce_window=soft_bounce_rule(settings).suppress_for,
        export=settings.infobip_export_suppressions,
    )


#: a prune (the worker's, or `emailhook prune`) rests this long between its small transactions:
#: on SQLite the spool promoter and the worker take the write lock in between
PRUNE_PAUSE_SECONDS = 0.05


def retention(
    settings: Settings, database: Database, *, pause_seconds: float = PRUNE_PAUSE_SECONDS
) -> Retention | None:
    """Return the pruning of bodies, raw events and events, or None while no retention is set."""
    if not settings.retentions_set():
        return None
    return Retention(
        database.sessions,
        settings.inbox_retention_days,
        failed_days=settings.failed_body_retention_days,
        pause_seconds=pause_seconds,
        on_pruned=record_pruned,
        raw_days=settings.raw_event_retention_days,
        on_raw_pruned=record_raw_pruned,
        event_days=settings.event_retention_days,
        on_events_pruned=record_events_pruned,
    )


def cli_processor(settings: Settings, database: Database) -> Processor:
    """Return a processor for a command (reconcile stores what it finds through it)."""
    return Processor(
        database.sessions,
        retry_policy(settings),
        soft_bounces=soft_bounce_rule(settings),
        parsers=parsers(settings),
    )


def provider_webhooks(
    settings: Settings, intake: Intake, fetch: Fetch = https_fetch
) -> ProviderWebhooks:
    """Return the web process's providers: each enabled one built once from its settings
    (keys decoded here), the others named with the variables that would enable them."""
    enabled: dict[str, Provider] = {}
    disabled: dict[str, tuple[str, ...]] = {}
    for provider in PROVIDERS:
        if provider.name == INFOBIP:  # POST /email's path, with WebhookAuth
            continue
        if settings.provider_enabled(provider.name):
            enabled[provider.name] = provider(settings.provider_values(provider.name), fetch=fetch)
        else:
            disabled[provider.name] = tuple(
                setting.variable(provider.name)
                for setting in provider.settings
                if setting.name in provider.enabled_by
            )
    return ProviderWebhooks(enabled, disabled, intake)


def parsers(settings: Settings) -> dict[str, Provider]:
    """Return every registered provider, for parsing kept bodies by their ``provider``.

    All of them, enabled here or not: a body kept by a web process whose settings differ is
    still parsed. Parsing reads no secret and fetches nothing.
    """
    return {p.name: p(settings.provider_values(p.name)) for p in PROVIDERS}


def cli_database(settings: Settings) -> Database:
    """Return the database as a command uses it: the worker's patient timeouts."""
    return open_database(settings, lock_timeout_seconds=settings.worker_lock_timeout_seconds)


@dataclass(frozen=True, slots=True)
class WebServices:
    """What a web process serves with."""

    settings: Settings
    auth: WebhookAuth
    operators: OperatorAuth
    intake: Intake
    #: the writer: the inbox (with ``intake=database``), replays
    database: Database
    #: read-only: the query API, the dashboard, ``/metrics``
    reads: Database
    operations: Operations
    #: the spool's promoter, when bodies are spooled
    spool: SpoolPromoter | None
    #: ``POST /webhooks/<provider>``: the enabled providers, built once
    providers: ProviderWebhooks


def web_services(settings: Settings, *, fetch: Fetch = https_fetch) -> WebServices:
    """Return a web process's services. Raises ConfigurationError in production when no
    webhook authentication is configured. ``fetch`` reaches providers' hosts (SNS)."""
    auth = require_authentication(settings)
    database = open_database(
        settings,
        lock_timeout_seconds=settings.web_lock_timeout_seconds,
        statement_timeout_seconds=settings.web_lock_timeout_seconds,
    )
    writer: BodyWriter
    promoter: SpoolPromoter | None = None
    if settings.intake == "spool":
        promoter = SpoolPromoter(database.engine, settings.resolved_spool_dir)
        writer = promoter.writer = SpoolWriter(
            settings.resolved_spool_dir,
            segment_bytes=settings.spool_segment_bytes,
            on_new_segment=promoter.ensure_running,
        )
    else:
        writer = GroupCommitWriter(database.engine)
    intake = Intake(
        writer, timeout=settings.web_lock_timeout_seconds, max_json_depth=settings.max_json_depth
    )
    reads = open_read_only_database(settings)
    return WebServices(
        settings=settings,
        auth=auth,
        operators=OperatorAuth.from_settings(settings),
        intake=intake,
        database=database,
        reads=reads,
        operations=operations(settings, database, reads),
        spool=promoter,
        providers=provider_webhooks(settings, intake, fetch),
    )


@dataclass(frozen=True, slots=True)
class RelayThreads:
    """The relay and the spool sweep of a worker; set ``stop`` to end both."""

    relay: threading.Thread
    stop: threading.Event


@dataclass(frozen=True, slots=True)
class WorkerServices:
    """What a worker process stores with; each part is opened in the process that uses it."""

    settings: Settings
    #: this process's processor (Celery's pool forks: connections are opened after the fork)
    processor: Callable[[], Processor]
    #: starts the relay (inbox -> queue through ``publish``) and the spool sweep
    start_relay: Callable[[Publish], RelayThreads]
    #: starts the periodic jobs: reconciliation and suppression sync while Infobip
    #: credentials are set, the prune while a retention is; returns the threads started
    start_pulls: Callable[[threading.Event], list[threading.Thread]]


def worker_services(settings: Settings) -> WorkerServices:
    """Return a worker's services."""
    databases = PerProcess(
        lambda: open_database(settings, lock_timeout_seconds=settings.worker_lock_timeout_seconds)
    )
    # On SQLite, bodies are loaded (and idle relay passes read) without the write lock.
    readers = _sqlite_readers(settings)
    policy, rule = retry_policy(settings), soft_bounce_rule(settings)
    by_name = parsers(settings)

    def processor() -> Processor:
        return Processor(
            databases.get().sessions,
            policy,
            soft_bounces=rule,
            readers=readers(),
            parsers=by_name,
        )

    def start_relay(publish: Publish) -> RelayThreads:
        database = databases.get()
        relay = Relay(database.sessions, publish, relay_policy(settings), readers=readers())
        stop = threading.Event()
        thread = threading.Thread(target=relay.run_forever, args=(stop,), name="emailhook-relay")
        thread.daemon = True
        thread.start()
        # Web processes move their own spools; this takes over those of web servers that stopped.
        sweeper = SpoolPromoter(database.engine, settings.resolved_spool_dir)
        threading.Thread(
            target=sweeper.sweep_forever, args=(stop,), name="emailhook-spool-sweep", daemon=True
        ).start()
        return RelayThreads(thread, stop)

    def start_pulls(stop: threading.Event) -> list[threading.Thread]:
        database = databases.get()
        threads = []
        found = reconciler(settings, database, processor)
        if found is not None and settings.reconcile_interval_minutes > 0:
            interval = settings.reconcile_interval_minutes * 60
            threads.append(start_every("reconcile", interval, found.run, stop))
        sync = suppression_sync(settings, database)
        if sync is not None and settings.suppression_sync_interval_minutes > 0:
            interval = settings.suppression_sync_interval_minutes * 60
            threads.append(start_every("suppression-sync", interval, sync.run, stop))
        prune = retention(settings, database)
        if prune is not None and settings.prune_interval_minutes > 0:
            interval = settings.prune_interval_minutes * 60
            threads.append(start_every("prune", interval, prune.run, stop))
        return threads

    return WorkerServices(settings, processor, start_relay, start_pulls)


def _sqlite_readers(settings: Settings) -> Callable[[], sessionmaker[Session] | None]:
    """Read-only sessions of this process on SQLite (WAL gives readers a snapshot while a
    writer holds the one write lock), or None elsewhere, where reads wait for no writer."""
    if not settings.uses_sqlite:
        return lambda: None
    readers = PerProcess(lambda: open_read_only_database(settings))
    return lambda: readers.get().sessions


def create_app(settings: Settings | None = None) -> Flask:
    """Return the web app for ``settings`` (default: this process's environment)."""
    from emailhook.entrypoints.web.app import build_app

    return build_app(web_services(settings or load_settings()))


def create_celery(settings: Settings | None = None) -> Celery:
    """Return the Celery app for ``settings`` (default: this process's environment)."""
    from emailhook.entrypoints.worker.app import build_celery

    return build_celery(worker_services(settings or load_settings()))
