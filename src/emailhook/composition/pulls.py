"""The jobs a worker runs now and then: reconciliation and suppression sync (while Infobip
credentials are set) and the prune (while a retention is set), each built from settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from emailhook.adapters.db.engine import Database
from emailhook.adapters.infobip.api import InfobipApi
from emailhook.composition.policies import guard_rule, soft_bounce_rule
from emailhook.observability.metrics import (
    record_events_pruned,
    record_guard,
    record_pruned,
    record_raw_pruned,
    record_reconciled,
)
from emailhook.service.receive.processing import Processor
from emailhook.service.receive.reconciler import Reconciler
from emailhook.service.receive.retention import Retention
from emailhook.service.receive.suppression_sync import SuppressionSync
from emailhook.service.send.accept import forget_expired_keys
from emailhook.service.send.campaign_discard import discard_stale_uploads
from emailhook.service.send.campaign_guard import CampaignGuard
from emailhook.settings import Settings

#: a prune (the worker's, or `emailhook prune`) rests this long between its small transactions:
#: on SQLite the spool promoter and the worker take the write lock in between
PRUNE_PAUSE_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    """A job to run every ``interval_seconds``; what runs it is the worker's business."""

    name: str
    interval_seconds: float
    run: Callable[[], object]


#: how often expired Idempotency-Keys are deleted
IDEMPOTENCY_PRUNE_SECONDS = 3600.0
#: how often campaigns whose upload stopped half-way are looked for (and deleted)
STALE_UPLOAD_SWEEP_SECONDS = 600.0


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


def periodic_jobs(
    settings: Settings, database: Database, processor: Callable[[], Processor]
) -> list[PeriodicJob]:
    """Return the jobs a worker runs on their intervals (an interval of 0 turns one off)."""
    jobs = []
    found = reconciler(settings, database, processor)
    if found is not None and settings.reconcile_interval_minutes > 0:
        jobs.append(PeriodicJob("reconcile", settings.reconcile_interval_minutes * 60, found.run))
    sync = suppression_sync(settings, database)
    if sync is not None and settings.suppression_sync_interval_minutes > 0:
        interval = settings.suppression_sync_interval_minutes * 60
        jobs.append(PeriodicJob("suppression-sync", interval, sync.run))
    prune = retention(settings, database)
    if prune is not None and settings.prune_interval_minutes > 0:
        jobs.append(PeriodicJob("prune", settings.prune_interval_minutes * 60, prune.run))
    if settings.send_api_keys:  # the send API keeps Idempotency-Keys for their hours
        keep = timedelta(hours=settings.idempotency_hours)
        jobs.append(
            PeriodicJob(
                "idempotency-keys",
                IDEMPOTENCY_PRUNE_SECONDS,
                lambda: forget_expired_keys(database.sessions, keep),
            )
        )
        jobs.append(
            PeriodicJob(
                "stale-campaign-uploads",
                STALE_UPLOAD_SWEEP_SECONDS,
                lambda: discard_stale_uploads(database.sessions),
            )
        )
        if settings.campaign_guard_seconds > 0:
            guard = CampaignGuard(database.sessions, guard_rule(settings), on_verdict=record_guard)
            jobs.append(PeriodicJob("campaign-guard", settings.campaign_guard_seconds, guard.run))
    return jobs
