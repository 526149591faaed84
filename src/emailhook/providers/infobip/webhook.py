"""Infobip as one provider of the registry: the first one, whose path is also ``POST /email``.

Infobip's authentication is the service's own (``service.receive.auth.WebhookAuth``: URL tokens,
HTTP Basic, a shared-secret header, bearer tokens, an HMAC of the body), configured by the
top-level ``EMAILHOOK_WEBHOOK_TOKENS``, ``EMAILHOOK_BASIC_AUTH``, ... settings, and it is
always enabled. This class gives the registry its name and its parsing, so that the worker
reads every kept body the same way: by its provider.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import orjson

from emailhook.domain.events import ParsedBody
from emailhook.domain.scrub import NUL_ESCAPE, scrub_nul
from emailhook.providers.base import (
    AuthenticationError,
    Provider,
    ProviderSetting,
    StoredRequest,
    UnreadableBodyError,
    WebhookRequest,
)
from emailhook.providers.infobip.parsing import parse_body

NAME = "infobip"


class Infobip(Provider):
    """Infobip's e-mail delivery reports and tracking events (``POST /email``)."""

    name: ClassVar[str] = NAME
    #: none of its own: its authentication is the service's top-level webhook settings
    settings: ClassVar[tuple[ProviderSetting, ...]] = ()
    #: empty: always enabled (production refuses to start without a webhook secret)
    enabled_by: ClassVar[tuple[str, ...]] = ()

    def authenticate(self, request: WebhookRequest, now: datetime) -> None:
        # Never the path that authenticates Infobip: refuse rather than let a body through.
        del request, now
        raise AuthenticationError("Infobip's requests are authenticated by WebhookAuth")

    def parse(self, request: StoredRequest) -> ParsedBody:
        """Return the events of a kept Infobip body, exactly as ``POST /email`` always did."""
        try:
            decoded = orjson.loads(request.body)
        except orjson.JSONDecodeError as error:
            raise UnreadableBodyError(f"Infobip body is not JSON: {error}") from error
        if not isinstance(decoded, dict):
            raise UnreadableBodyError("Infobip body is not a JSON object")
        if NUL_ESCAPE in request.body:
            decoded = scrub_nul(decoded)
        return parse_body(decoded)
