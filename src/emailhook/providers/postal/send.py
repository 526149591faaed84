"""Postal's send side: ``POST /api/v1/send/message`` (JSON), ``X-Server-API-Key``.

Sources (``shared/docs/sending-anchors.md`` §2, and Postal's own code as the fake in
``tests/support/fake_senders/postal.py`` reads it): Postal is self-hosted, so its URL has no
public default (``api_url`` is required). A call is one e-mail whose ``to``, ``cc`` and
``bcc`` (at most 50 each) all see it: no batch of separate messages, so each of our messages
is its own call (``max_batch`` 1). The answer is always HTTP 200: ``status`` ``success`` with
``data.messages`` = {recipient: {id, token}} (one Postal message a recipient, whose ``id`` its
webhook events carry as ``payload.message.id``), or ``error`` / ``parameter-error`` with a
code and a message.

Postal's webhooks echo no metadata and no custom header, only the message's one ``tag``: our
id travels as the ``X-Emailhook-Id`` header (in the e-mail, for a reader of the logs), and the
events join their message by the id Postal answered and the recipient. Metadata is refused
at accept: nothing would carry it back. There is no rate limit at Postal's API (a proxy in
front of it may answer 429), no idempotency key and no lookup by our id: an ambiguous failure
is never resent (``NONE``). Postal reports a suppressed recipient later ("Held").
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from typing import Any

from emailhook.domain.sending.message import OutgoingMessage
from emailhook.domain.sending.retries import Resolution
from emailhook.providers.base import ProviderSetting, ProviderValues
from emailhook.providers.sending import (
    HttpAnswer,
    HttpRequest,
    Outcome,
    RecipientResult,
    SendConfig,
)

NAME = "postal"
SEND = "/api/v1/send/message"
#: our id in the e-mail (Postal's events do not echo it: they join by Postal's id)
ID_HEADER = "X-Emailhook-Id"

#: the send settings, ``EMAILHOOK_POSTAL_<NAME>`` (part of the provider's settings)
SEND_SETTINGS = (
    ProviderSetting("api_key", "secrets", "server API key(s) that send; the first is used"),
    # self-hosted: no public default; required with the key
    ProviderSetting("api_url", "text", "your Postal server's base URL (https://postal.example)"),
    ProviderSetting("send_rate", "number", "send requests a second, shared by every worker", 10.0),
)


class PostalSend:
    """Postal's send API, one call a message (``SendSide``)."""

    name = NAME
    max_batch = 1
    resolution = Resolution.NONE
    #: one tag; no metadata (nothing echoes it), no template, no tracking switch
    features = frozenset({"attachments", "tags", "headers"})

    @staticmethod
    def configure(values: ProviderValues) -> tuple[SendConfig, float | None] | None:
        """Return the send config and rate from the provider's settings, or None (no key).
        Raises ValueError for a key without a URL: Postal has no public one to fall back on."""
        keys = values.get("api_key") or ()
        if not keys:
            return None
        url = values.get("api_url")
        if not url:
            raise ValueError(
                "EMAILHOOK_POSTAL_API_URL is required with EMAILHOOK_POSTAL_API_KEY:"
                " your Postal server's base URL (Postal is self-hosted)"
            )
        return SendConfig(url, keys[0]), values.get("send_rate")

    def request_key(self, message: OutgoingMessage) -> Hashable:
        return None  # one message a call

    def check(self, message: OutgoingMessage) -> str | None:
        if len(message.tags) > 1:
            return "Postal takes one tag a message"
        if any(name.lower() == ID_HEADER.lower() for name in message.headers):
            return f"Postal's header {ID_HEADER} carries our id: it cannot be set"
        return None

    def prepare(self, messages: Sequence[OutgoingMessage], config: SendConfig) -> HttpRequest:
        if len(messages) != 1:
            raise ValueError("Postal sends one message a call")
        [message] = messages
        to = message.to
        body: dict[str, Any] = {
            "to": [f'"{to.name}" <{to.email}>' if to.name else to.email],
            "from": message.from_email,
            "subject": message.subject or "",
            "headers": {**dict(message.headers), ID_HEADER: message.public_id},
        }
        if message.text is not None:
            body["plain_body"] = message.text
        if message.html is not None:
            body["html_body"] = message.html
        if message.reply_to:
            body["reply_to"] = ", ".join(message.reply_to)
        if message.tags:
            body["tag"] = message.tags[0]
        if message.attachments:
            body["attachments"] = [
                {"name": a.filename, "content_type": a.content_type, "data": a.content}
                for a in message.attachments
            ]
        return HttpRequest(
            "POST",
            config.api_url.rstrip("/") + SEND,
            {
                "X-Server-API-Key": config.api_key,
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
        )

    def parse(
        self, answer: HttpAnswer, messages: Sequence[OutgoingMessage]
    ) -> list[RecipientResult]:
        if answer.status == 429:  # a proxy in front of Postal: Postal itself has no limit
            wait = _seconds(answer.header("retry-after"))
            return [
                RecipientResult(m.public_id, Outcome.RETRY, reason="HTTP 429", retry_after=wait)
                for m in messages
            ]
        if answer.status != 200:  # a 5xx, or a proxy's page: Postal itself answers 200
            outcome = Outcome.UNKNOWN if answer.status >= 500 else Outcome.FAILED
            return [
                RecipientResult(m.public_id, outcome, reason=f"HTTP {answer.status}")
                for m in messages
            ]
        try:
            body = json.loads(answer.body)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return [
                RecipientResult(m.public_id, Outcome.UNKNOWN, reason="unreadable 200")
                for m in messages
            ]
        data: dict[str, Any] = body["data"] if isinstance(body.get("data"), dict) else {}
        if body.get("status") != "success":
            reason = f"{body.get('status')} {data.get('code') or ''}: {data.get('message')}"
            return [RecipientResult(m.public_id, Outcome.FAILED, reason=reason) for m in messages]
        found = data.get("messages")
        found = {str(k).lower(): v for k, v in found.items()} if isinstance(found, dict) else {}
        return [_result(m, found.get(m.to.email.lower())) for m in messages]

    def lookup(self, public_ids: Sequence[str], config: SendConfig) -> list[HttpRequest]:
        raise NotImplementedError("Postal cannot be asked by our id (Resolution.NONE)")

    def found(self, answer: HttpAnswer) -> dict[str, str]:
        raise NotImplementedError("Postal cannot be asked by our id (Resolution.NONE)")


def _result(message: OutgoingMessage, item: object) -> RecipientResult:
    if isinstance(item, dict) and item.get("id") is not None and not isinstance(item["id"], bool):
        return RecipientResult(message.public_id, Outcome.ACCEPTED, str(item["id"]))
    return RecipientResult(message.public_id, Outcome.UNKNOWN, reason="no message id for it")


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
