"""The service's policies as the settings' defaults make them, with a test's overrides."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from emailhook.composition.policies import relay_policy, retry_policy, soft_bounce_rule
from emailhook.domain.suppression import SoftBounceRule
from emailhook.service.receive.intake import BodyWriter, Intake
from emailhook.service.receive.processing import RetryPolicy
from emailhook.service.receive.relay import RelayPolicy
from emailhook.settings import Settings

#: the defaults, written once in Settings (the test environment sets none of these)
DEFAULTS = Settings()


def retry(**overrides: Any) -> RetryPolicy:
    return replace(retry_policy(DEFAULTS), **overrides)


def relay_with(**overrides: Any) -> RelayPolicy:
    return replace(relay_policy(DEFAULTS), **overrides)


def soft_bounces(**overrides: Any) -> SoftBounceRule:
    return replace(soft_bounce_rule(DEFAULTS), **overrides)


def new_intake(writer: BodyWriter, **overrides: Any) -> Intake:
    """Return an intake with the web's timeout and depth limit (or ``overrides``)."""
    options: dict[str, Any] = {
        "timeout": DEFAULTS.web_lock_timeout_seconds,
        "max_json_depth": DEFAULTS.max_json_depth,
        **overrides,
    }
    return Intake(writer, **options)
