"""Infobip as one provider of the registry: the first one, whose path is also ``POST /email``.

Its authentication (``infobip.auth.WebhookAuth``: URL tokens, HTTP Basic, a shared-secret
header, bearer tokens, an HMAC of the body) keeps the settings it had before providers,
``EMAILHOOK_WEBHOOK_TOKENS``, ``EMAILHOOK_BASIC_AUTH``, ... (``unprefixed``), and it is always
enabled: production refuses to start without one of them (``service.receive.auth``). Its
bodies keep the shapes they had before providers (``infobip.body``), and they are parsed by
``infobip.parsing``; the intake, the worker and the store take them like any provider's.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import ClassVar

import orjson

from emailhook.domain.events import ParsedBody
from emailhook.domain.scrub import NUL_ESCAPE, scrub_nul
from emailhook.providers.base import (
    BodyCheck,
    Fetch,
    Provider,
    ProviderSetting,
    ProviderValues,
    SettingKind,
    StoredRequest,
    UnreadableBodyError,
    WebhookRequest,
)
from emailhook.providers.infobip.auth import Credentials, WebhookAuth
from emailhook.providers.infobip.body import decode_body, masked_recipients
from emailhook.providers.infobip.parsing import count_events, detect_shape, parse_body

NAME = "infobip"


def _setting(
    name: str, kind: SettingKind, help: str, default: str | float | None = None
) -> ProviderSetting:
    return ProviderSetting(name, kind, help, default, unprefixed=True)


class Infobip(Provider):
    """Infobip's e-mail delivery reports and tracking events (``POST /email``)."""

    name: ClassVar[str] = NAME
    #: the settings it had before providers, under the same names (``settings.receive``
    #: declares their types and checks; these defaults are the same)
    settings: ClassVar[tuple[ProviderSetting, ...]] = (
        _setting("webhook_tokens", "secrets", "secret tokens accepted in the URL"),
        _setting("basic_auth", "secrets", "HTTP Basic credentials, each user:password"),
        _setting("secret_header", "text", "the shared-secret header's name", "X-Webhook-Secret"),
        _setting("secret_header_values", "secrets", "the values of that header accepted"),
        _setting("bearer_tokens", "secrets", "Authorization: Bearer tokens"),
        _setting("hmac_secrets", "secrets", "keys of an HMAC of the raw body"),
        _setting("hmac_header", "text", "the header carrying the HMAC", "X-Signature"),
        _setting("hmac_algorithm", "text", "the HMAC's hash algorithm", "sha256"),
        _setting("hmac_encoding", "text", "hex or base64", "hex"),
        _setting("max_json_depth", "number", "JSON nesting allowed in a body", 32),
    )
    #: empty: always enabled (production refuses to start without a webhook secret)
    enabled_by: ClassVar[tuple[str, ...]] = ()
    url_token: ClassVar[bool] = True
    quick_check: ClassVar[bool] = True
    keeps_request: ClassVar[bool] = False

    def __init__(self, values: ProviderValues, *, fetch: Fetch | None = None) -> None:
        super().__init__(values, fetch=fetch)
        self.auth = WebhookAuth.from_values(values)
        self._max_depth = int(values["max_json_depth"])

    def authenticate(self, request: WebhookRequest, now: datetime) -> None:
        del now
        offered = Credentials(
            path_token=request.path_token,
            query_token=request.query_token,
            headers=request.headers,
            body=request.body,
        )
        self.auth.verify(offered, remote_addr=request.remote_addr)

    def check_body(self, request: WebhookRequest) -> BodyCheck:
        """Return the body's shape and events; an unknown shape is kept (unrecognized)."""
        body = decode_body(request.body, max_depth=self._max_depth)
        shape = detect_shape(body)
        return BodyCheck(count_events(body, shape), shape, partial(masked_recipients, body, shape))

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

    def parse_checked(self, request: StoredRequest) -> ParsedBody:
        """Return :meth:`parse`: it sets aside non-addresses itself (``infobip.parsing``)."""
        return self.parse(request)
