"""HTTP Basic authentication, the one proof Postmark, SparkPost and Mailjet give, one of
Brevo's two, and an optional layer on Amazon SNS.

Every refusal carries the ``WWW-Authenticate`` challenge (RFC 7235 §3.1: a 401 sends one),
so that a sender which waits to be asked (SNS) sends its credentials.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from emailhook.providers.base import (
    BASIC_CHALLENGE,
    AuthenticationError,
    Provider,
    WebhookRequest,
    basic_auth_matches,
    basic_credentials,
)


def require_basic(headers: Mapping[str, str], pairs: Iterable[str], who: str) -> None:
    """Return if the request's HTTP Basic credentials are one of ``pairs`` (``user:pw``);
    else raise AuthenticationError with the challenge, ``who`` naming the provider in the log.
    """
    if basic_credentials(headers) is None:
        raise AuthenticationError(f"{who}: no HTTP Basic credentials", challenge=BASIC_CHALLENGE)
    if not basic_auth_matches(headers, pairs):
        raise AuthenticationError(f"{who}: wrong HTTP Basic credentials", challenge=BASIC_CHALLENGE)


class BasicAuthenticated(Provider):
    """A provider whose only proof is HTTP Basic credentials, listed in ``basic_auth``."""

    def authenticate(self, request: WebhookRequest, now: datetime) -> None:
        del now
        require_basic(request.headers, self.values.get("basic_auth", ()), self.name)
