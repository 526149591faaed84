"""The rules a process reads from its settings: retries, the soft-bounce rule, the relay's."""

from __future__ import annotations

from datetime import timedelta

from emailhook.domain.sending.guards import GuardRule
from emailhook.domain.suppression import SoftBounceRule
from emailhook.service.receive.processing import RetryPolicy
from emailhook.service.receive.relay import RelayPolicy
from emailhook.settings import Settings


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
        idle_poll_seconds=max(settings.relay_idle_poll_seconds, settings.relay_poll_seconds),
    )


def guard_rule(settings: Settings) -> GuardRule:
    """The campaign guards' thresholds from the settings."""
    return GuardRule(
        complaint_warn=settings.campaign_complaint_warn_rate,
        complaint_pause=settings.campaign_complaint_pause_rate,
        hard_bounce_pause=settings.campaign_hard_bounce_pause_rate,
        min_delivered=settings.campaign_guard_min_delivered,
        domain_window_hours=settings.campaign_domain_window_hours,
    )
