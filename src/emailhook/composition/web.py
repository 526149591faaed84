"""A web process's services: the intake with its durable writer, the providers' webhooks,
the databases it writes and reads, the operators' service."""

from __future__ import annotations

from dataclasses import dataclass

from emailhook.adapters.db.engine import Database, open_database, open_read_only_database
from emailhook.adapters.http_fetch import fetch as https_fetch
from emailhook.adapters.intake.group_commit import GroupCommitWriter
from emailhook.adapters.intake.spool import SpoolWriter
from emailhook.adapters.intake.spool_commit import SpoolCommit
from emailhook.adapters.intake.spool_promoter import SpoolPromoter
from emailhook.composition.commands import operations
from emailhook.composition.send import SendWeb, send_web
from emailhook.providers.base import Fetch, Provider
from emailhook.providers.infobip.auth import WebhookAuth
from emailhook.providers.registry import PROVIDERS
from emailhook.service.operations import Operations
from emailhook.service.receive.auth import require_authentication
from emailhook.service.receive.intake import BodyWriter, Intake
from emailhook.service.receive.webhooks import ProviderWebhooks
from emailhook.settings import Settings


@dataclass(frozen=True, slots=True)
class WebServices:
    """What a web process serves with."""

    settings: Settings
    auth: WebhookAuth
    intake: Intake
    #: the writer: the inbox (with ``intake=database``), replays
    database: Database
    #: read-only: the query API, the dashboard, ``/metrics``
    reads: Database
    operations: Operations
    #: the spool's promoter, when bodies are spooled (its thread runs unless the worker moves)
    spool: SpoolPromoter | None
    #: ``POST /webhooks/<provider>``: the enabled providers, built once
    providers: ProviderWebhooks
    #: the send API and one-click unsubscribe
    send: SendWeb


def provider_webhooks(
    settings: Settings, intake: Intake, fetch: Fetch = https_fetch
) -> ProviderWebhooks:
    """Return the web process's providers: each enabled one built once from its settings
    (keys decoded here), the others named with the variables that would enable them."""
    enabled: dict[str, Provider] = {}
    disabled: dict[str, tuple[str, ...]] = {}
    for provider in PROVIDERS:
        if settings.provider_enabled(provider.name):
            enabled[provider.name] = provider(settings.provider_values(provider.name), fetch=fetch)
        else:
            disabled[provider.name] = tuple(
                setting.variable(provider.name)
                for setting in provider.settings
                if setting.name in provider.enabled_by
            )
    return ProviderWebhooks(enabled, disabled, intake)


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
        # Moved by a worker of the machine: settled segments released to it. Moved by the web
        # (as well): a thread here, standing aside while a worker moves (``auto`` off SQLite).
        # With neither thread, ``run_once`` still moves this process's own segments when
        # called, as the tests' clients do.
        by_worker, by_web = settings.spool_moved_by_worker, settings.spool_moved_by_web
        promoter = SpoolPromoter(
            database.engine, settings.resolved_spool_dir, defer_to_worker=by_worker and by_web
        )
        promoter.writer = SpoolWriter(
            settings.resolved_spool_dir,
            segment_bytes=settings.spool_segment_bytes,
            on_new_segment=promoter.ensure_running if by_web else None,
            release_settled=by_worker,
        )
        writer = SpoolCommit(promoter.writer, gap=settings.spool_sync_gap_ms / 1000)
    else:
        writer = GroupCommitWriter(database.engine)
    intake = Intake(writer, timeout=settings.web_lock_timeout_seconds)
    reads = open_read_only_database(settings)
    return WebServices(
        settings=settings,
        auth=auth,
        intake=intake,
        database=database,
        reads=reads,
        operations=operations(settings, database, reads),
        spool=promoter,
        providers=provider_webhooks(settings, intake, fetch),
        send=send_web(settings, database.sessions, reads.sessions),
    )


def web_host_mover(settings: Settings) -> SpoolPromoter:
    """Return the mover a web host runs beside its server processes (``serve``, where the web
    moves its spool): every segment of the machine's spool folder, as a worker's sweep."""
    database = open_database(settings, lock_timeout_seconds=settings.web_lock_timeout_seconds)
    return SpoolPromoter(database.engine, settings.resolved_spool_dir)
