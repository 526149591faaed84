"""The service's policies as the settings' defaults make them, with a test's overrides."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from emailhook.composition.policies import relay_policy, retry_policy, soft_bounce_rule
from emailhook.domain.suppression import SoftBounceRule
from emailhook.providers.base import WebhookRequest
from emailhook.providers.registry import BY_NAME, EMAIL_PROVIDER
from emailhook.service.receive.intake import BodyWriter, Intake, Receipt
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


class EmailIntake(Intake):
    """The intake, with ``accept(raw)``: a body as ``POST /email`` takes it (Infobip's, its
    authentication passed), through the one path every provider's body takes."""

    def __init__(self, writer: BodyWriter, *, max_json_depth: int, **options: Any) -> None:
        super().__init__(writer, **options)
        values = {**DEFAULTS.provider_values(EMAIL_PROVIDER), "max_json_depth": max_json_depth}
        self.email_provider = BY_NAME[EMAIL_PROVIDER](values)

    def accept(self, raw: bytes, *, request_id: str | None = None) -> Receipt:
        """Keep ``raw`` as ``POST /email`` does and return its receipt."""
        request = WebhookRequest(raw, {}, "application/json", "http://localhost/email")
        return self.accept_provider(self.email_provider, request, request_id=request_id)


def new_intake(writer: BodyWriter, **overrides: Any) -> EmailIntake:
    """Return an intake with the web's timeout and Infobip's depth limit (or ``overrides``)."""
    options: dict[str, Any] = {
        "timeout": DEFAULTS.web_lock_timeout_seconds,
        "max_json_depth": DEFAULTS.max_json_depth,
        **overrides,
    }
    return EmailIntake(writer, **options)
