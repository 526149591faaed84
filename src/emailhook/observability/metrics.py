"""Prometheus metrics, shared by every web and worker process through one folder.

The web server's processes and Celery's prefork children are separate processes: each writes its
counters to files in the metrics folder (prometheus_client's multiprocess mode) and
``GET /metrics`` adds them up. The folder comes from the settings; prometheus_client reads it
from ``PROMETHEUS_MULTIPROC_DIR``, which :func:`configure_metrics` sets before the first metric.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from emailhook.settings import Settings

log = logging.getLogger("emailhook.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: receipt to stored: seconds on a drained queue, minutes behind a backlog or a retry
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)


class RejectReason(enum.StrEnum):
    """Why ``POST /email`` did not keep a body."""

    INVALID_BODY = "invalid_body"  #: 400: not JSON, or not a JSON object
    TOO_LARGE = "too_large"  #: 413
    UNAUTHORIZED = "unauthorized"  #: 401: failed authentication
    UNAVAILABLE = "unavailable"  #: 503: the database could not take it


@dataclass(frozen=True, slots=True)
class Metrics:
    received: Counter
    accepted: Counter
    rejected: Counter
    stored: Counter
    duplicates: Counter
    latency: Histogram
    other_channels: Counter
    reconciled: Counter
    pruned: Counter
    raw_pruned: Counter
    events_pruned: Counter
    send_accepted: Counter
    send_outcomes: Counter
    send_latency: Histogram


#: what became of a message in a send task (``emailhook_messages_total{outcome}``)
SEND_OUTCOMES = ("sent", "failed", "rejected", "retried", "suppressed", "dead", "uncertain")
#: a provider's send call: tens of milliseconds to its timeout
SEND_LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


def configure_metrics(settings: Settings) -> Path:
    """Make this process (and its children) write metrics to the settings' folder."""
    folder = settings.resolved_metrics_dir
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    # prometheus_client picks its value class when first imported; pick it again now that
    # the folder is known, in case something imported it before.
    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    return folder


def clear_metrics(settings: Settings) -> None:
    """Remove the files of earlier runs: call once when every process is (re)started."""
    folder = settings.resolved_metrics_dir
    for stale in folder.glob("*.db") if folder.is_dir() else ():
        stale.unlink(missing_ok=True)


_creating = threading.Lock()


def metrics() -> Metrics:
    """Return this process's metric objects, made on first use (by exactly one thread)."""
    with _creating:  # the first requests of a process arrive together, on several threads
        return _metrics()


@cache
def _metrics() -> Metrics:
    rejected = Counter(
        "emailhook_bodies_rejected", "Bodies answered 4xx/503 and not kept, by reason", ["reason"]
    )
    for reason in RejectReason:
        rejected.labels(reason.value)
    return Metrics(
        received=Counter("emailhook_bodies_received", "Requests to POST /email"),
        accepted=Counter("emailhook_bodies_accepted", "Bodies kept (answered 200)", ["shape"]),
        rejected=rejected,
        stored=Counter("emailhook_events_stored", "Events stored for the first time"),
        duplicates=Counter("emailhook_events_duplicate", "Events skipped as already stored"),
        latency=Histogram(
            "emailhook_processing_latency_seconds",
            "From receipt of a body to its events being stored",
            buckets=LATENCY_BUCKETS,
        ),
        other_channels=Counter(
            "emailhook_other_channel_items",
            "Items of other channels than e-mail (SMS, WhatsApp, ...) or whose recipient is not"
            " an e-mail address (channel NOT_AN_ADDRESS): kept raw, not stored",
            ["channel"],
        ),
        reconciled=Counter(
            "emailhook_reconciled_events",
            "Events found in Infobip's logs that no webhook delivered (the webhook loss)",
        ),
        pruned=Counter(
            "emailhook_bodies_pruned",
            "Processed inbox bodies deleted past the retention (EMAILHOOK_INBOX_RETENTION_DAYS)",
        ),
        raw_pruned=Counter(
            "emailhook_raw_events_pruned",
            "Raw rests of events dropped past EMAILHOOK_RAW_EVENT_RETENTION_DAYS",
        ),
        events_pruned=Counter(
            "emailhook_events_pruned",
            "Events deleted past EMAILHOOK_EVENT_RETENTION_DAYS (derived state kept)",
        ),
        send_accepted=Counter(
            "emailhook_messages_accepted",
            "Messages the send API accepted, by what it answered (queued, scheduled, suppressed)",
            ["status"],
        ),
        send_outcomes=Counter(
            "emailhook_messages_dispatched",
            "What send tasks did with messages: sent, failed, retried, suppressed (at send"
            " time), dead (dead-lettered), uncertain (to be asked of the provider)",
            ["outcome"],
        ),
        send_latency=Histogram(
            "emailhook_send_call_seconds",
            "Seconds a provider's send call took",
            buckets=SEND_LATENCY_BUCKETS,
        ),
    )


def record_rejected(reason: RejectReason) -> None:
    """Count a body that was not kept (called by the error handlers)."""
    metrics().rejected.labels(reason.value).inc()


def record_stored(
    stored: int,
    duplicates: int,
    latencies: Iterable[float],
    other_channels: Mapping[str, int] | None = None,
) -> None:
    """Count a processed batch: new events, repeats, each body's receipt-to-stored time, and
    the items of other channels it held."""
    current = metrics()
    current.stored.inc(stored)
    current.duplicates.inc(duplicates)
    for seconds in latencies:
        current.latency.observe(seconds)
    for channel, items in (other_channels or {}).items():
        current.other_channels.labels(channel).inc(items)


def record_accepted_messages(statuses: Iterable[str]) -> None:
    """Count the messages of an accepted send request by the status each was answered."""
    current = metrics()
    for status in statuses:
        current.send_accepted.labels(status).inc()


def record_sent(outcomes: Mapping[str, object], calls: Iterable[float]) -> None:
    """Count what a send task did (``SEND_OUTCOMES``) and how long its provider calls took."""
    current = metrics()
    for outcome in SEND_OUTCOMES:
        value = outcomes.get(outcome)
        if isinstance(value, int) and value:
            current.send_outcomes.labels(outcome).inc(value)
    for seconds in calls:
        current.send_latency.observe(seconds)


def record_reconciled(new_events: int) -> None:
    """Count the events a reconciliation run found that the webhooks had not delivered."""
    metrics().reconciled.inc(new_events)


def record_pruned(bodies: int) -> None:
    """Count the processed bodies a prune deleted."""
    metrics().pruned.inc(bodies)


def record_raw_pruned(events: int) -> None:
    """Count the events whose raw rest a prune dropped."""
    metrics().raw_pruned.inc(events)


def record_events_pruned(events: int) -> None:
    """Count the events a prune deleted."""
    metrics().events_pruned.inc(events)


def record_guard(scope: str, action: str) -> None:
    """Count a guard's verdict on a campaign: ``scope`` campaign, domain or platform (a
    provider's platform event), ``action`` warn (a new warning) or pause."""
    with _creating:
        counter = _guard_verdicts()
    counter.labels(scope, action).inc()


@cache
def _guard_verdicts() -> Counter:
    return Counter(
        "emailhook_campaign_guard_verdicts",
        "Campaigns the guards warned of or paused, by whose rate (campaign, domain) or a"
        " provider's platform event (platform)",
        ["scope", "action"],
    )


class InboxGauges:
    """Gauges read from the inbox at scrape time: cheap indexed counts, never stale."""

    def __init__(self, count: Callable[[], Mapping[str, int] | None]) -> None:
        self._count = count

    def collect(self) -> Iterator[Metric]:
        counts = self._count()
        if counts is None:  # the database did not answer: no value rather than a wrong one
            return
        yield GaugeMetricFamily(
            "emailhook_backlog_bodies",
            "Accepted bodies whose events are not stored yet",
            value=counts["pending"],
        )
        yield GaugeMetricFamily(
            "emailhook_dead_letter_bodies",
            "Dead-lettered bodies waiting for an operator (emailhook inbox replay)",
            value=counts["dead"],
        )
        yield GaugeMetricFamily(
            "emailhook_spool_files",
            "Spool files of this machine's web processes (one per process, more while rotating)",
            value=counts.get("spool_files", 0),
        )
        yield GaugeMetricFamily(
            "emailhook_spool_unmoved_bytes",
            "Bytes of accepted bodies in spool files and not yet moved into the inbox",
            value=counts.get("spool_unmoved_bytes", 0),
        )


def exposition(settings: Settings, inbox_counts: Callable[[], Mapping[str, int] | None]) -> bytes:
    """Return every process's metrics and the inbox gauges in Prometheus text format."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(settings.resolved_metrics_dir))  # type: ignore[no-untyped-call]
    registry.register(InboxGauges(inbox_counts))
    return generate_latest(registry)


__all__ = ["CONTENT_TYPE_LATEST", "configure_metrics", "exposition", "metrics", "record_rejected"]
