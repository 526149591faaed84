"""Mailjet's send side: ``POST /v3.1/send`` (JSON), HTTP Basic ``<api key>:<secret key>``.

Sources (``shared/docs/sending-anchors.md`` §2, and Mailjet's Send API v3.1 as the fake in
``tests/support/fake_senders/mailjet.py`` reads it, after anymail's tests): up to 50
``Messages`` a call, each with its own ``To``, content, ``Headers``, ``CustomID`` and
``EventPayload`` (a string), so each message here is one Mailjet message. Every event echoes
the ``EventPayload`` as its ``Payload`` (``providers/mailjet/webhook.py`` reads it as the
callback data): our id (``emailhook_id``) travels there, in a JSON object with our metadata,
and in ``CustomID`` too (echoed by the events and searchable in Mailjet's message API). The
answer lists one result per message, in order: ``Status: success`` with ``To[].MessageID``
(beyond 2**53: read exactly, never through a float; the events' ``MessageID``), or ``Status:
error`` with ``Errors[]``. A call with an invalid message is answered HTTP 400 as a whole,
the valid messages sent all the same, so the results are read whatever the status. Mailjet
refuses no recipient at send time (a suppressed one gets a ``blocked`` event later). A 429 is
``text/html`` "Rate limit exceeded", no rate header. No idempotency key: an ambiguous failure
is never resent (``NONE``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Hashable, Sequence
from email.utils import parseaddr
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

NAME = "mailjet"
SEND = "/v3.1/send"
API_URL = "https://api.mailjet.com"
#: our id in EventPayload (and CustomID): Mailjet's events echo both
EMAILHOOK_ID = "emailhook_id"
#: where the secret half of the key pair travels in ``SendConfig.extra``
SECRET_KEY = "secret_key"  # noqa: S105 (a field name, not a secret)

#: the send settings, ``EMAILHOOK_MAILJET_<NAME>`` (part of the provider's settings)
SEND_SETTINGS = (
    ProviderSetting("api_key", "secrets", "API key(s) (the public half); the first is used"),
    ProviderSetting("secret_key", "secrets", "secret key(s), paired with api_key in order"),
    ProviderSetting("api_url", "text", "the send API's base URL", API_URL),
    ProviderSetting("send_rate", "number", "send requests a second, shared by every worker", 10.0),
)


class MailjetSend:
    """Mailjet Send API v3.1, one Mailjet message a message (``SendSide``)."""

    name = NAME
    max_batch = 50
    resolution = Resolution.NONE
    features = frozenset(
        {
            "template_id",
            "attachments",
            "tags",
            "metadata",
            "headers",
            "track_opens",
            "track_clicks",
        }
    )

    @staticmethod
    def configure(values: ProviderValues) -> tuple[SendConfig, float | None] | None:
        """Return the send config and rate from the provider's settings, or None (no key
        pair)."""
        keys = values.get("api_key") or ()
        secrets = values.get("secret_key") or ()
        if not keys or not secrets:
            return None
        config = SendConfig(
            values.get("api_url") or API_URL, keys[0], extra={SECRET_KEY: secrets[0]}
        )
        return config, values.get("send_rate")

    def request_key(self, message: OutgoingMessage) -> Hashable:
        return None  # every option is per message

    def check(self, message: OutgoingMessage) -> str | None:
        if len(message.tags) > 1:
            return "Mailjet takes one tag a message (its CustomCampaign)"
        if len(message.reply_to) > 1:
            return "Mailjet takes one reply-to address a message"
        if message.template_id is not None and not message.template_id.isdigit():
            return "Mailjet's template_id is a number (its TemplateID)"
        return None

    def prepare(self, messages: Sequence[OutgoingMessage], config: SendConfig) -> HttpRequest:
        pair = f"{config.api_key}:{config.extra[SECRET_KEY]}"
        token = base64.b64encode(pair.encode()).decode()
        body = {"Messages": [_message(m) for m in messages]}
        return HttpRequest(
            "POST",
            config.api_url.rstrip("/") + SEND,
            {
                "Authorization": f"Basic {token}",
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
        )

    def parse(
        self, answer: HttpAnswer, messages: Sequence[OutgoingMessage]
    ) -> list[RecipientResult]:
        ids = [m.public_id for m in messages]
        body = _json(answer.body)
        results = body.get("Messages") if answer.status in (200, 400) else None
        if isinstance(results, list):
            if len(results) != len(ids):  # some may be sent: which, it does not say
                reason = f"HTTP {answer.status}: {len(results)} results for {len(ids)} messages"
                return [RecipientResult(i, Outcome.UNKNOWN, reason=reason) for i in ids]
            return [_result(i, r) for i, r in zip(ids, results, strict=True)]
        reason = _reason(answer, body)
        if answer.status == 429:
            wait = _seconds(answer.header("Retry-After"))
            return [RecipientResult(i, Outcome.RETRY, reason=reason, retry_after=wait) for i in ids]
        if answer.status >= 500 or 200 <= answer.status < 300:
            # a 5xx may have been sent; a 2xx without results cannot be told apart
            return [RecipientResult(i, Outcome.UNKNOWN, reason=reason) for i in ids]
        return [RecipientResult(i, Outcome.FAILED, reason=reason) for i in ids]

    def lookup(self, public_ids: Sequence[str], config: SendConfig) -> list[HttpRequest]:
        raise NotImplementedError("Mailjet is not asked by our id here (Resolution.NONE)")

    def found(self, answer: HttpAnswer) -> dict[str, str]:
        raise NotImplementedError("Mailjet is not asked by our id here (Resolution.NONE)")


def event_payload(message: OutgoingMessage) -> str:
    """Return the ``EventPayload`` of ``message``: its metadata and our id, as JSON text."""
    payload = {
        **{str(k): v for k, v in message.metadata.items()},
        EMAILHOOK_ID: message.public_id,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _message(message: OutgoingMessage) -> dict[str, Any]:
    item: dict[str, Any] = {
        "From": _address(message.from_email),
        "To": [_person(message.to.email, message.to.name)],
        "CustomID": message.public_id,
        "EventPayload": event_payload(message),
    }
    if message.subject is not None:
        item["Subject"] = message.subject
    if message.text is not None:
        item["TextPart"] = message.text
    if message.html is not None:
        item["HTMLPart"] = message.html
    if message.template_id is not None:
        item["TemplateID"] = int(message.template_id)
        item["TemplateLanguage"] = True
        if message.merge_data:
            item["Variables"] = dict(message.merge_data)
    if message.reply_to:
        item["ReplyTo"] = _address(message.reply_to[0])
    if message.headers:
        item["Headers"] = dict(message.headers)
    if message.tags:
        item["CustomCampaign"] = message.tags[0]
    if message.track_opens is not None:
        item["TrackOpens"] = "enabled" if message.track_opens else "disabled"
    if message.track_clicks is not None:
        item["TrackClicks"] = "enabled" if message.track_clicks else "disabled"
    if message.attachments:
        item["Attachments"] = [
            {"ContentType": a.content_type, "Filename": a.filename, "Base64Content": a.content}
            for a in message.attachments
        ]
    return item


def _result(public_id: str, result: object) -> RecipientResult:
    if not isinstance(result, dict):
        return RecipientResult(public_id, Outcome.UNKNOWN, reason="unreadable result")
    if result.get("Status") == "success":
        to = result.get("To")
        first = to[0] if isinstance(to, list) and to and isinstance(to[0], dict) else {}
        message_id = first.get("MessageID")
        if isinstance(message_id, int | str) and not isinstance(message_id, bool) and message_id:
            return RecipientResult(public_id, Outcome.ACCEPTED, str(message_id))
        return RecipientResult(public_id, Outcome.UNKNOWN, reason="success without a MessageID")
    if result.get("Status") == "error":
        errors = result.get("Errors")
        words = "; ".join(
            _error_words(e)
            for e in (errors if isinstance(errors, list) else ())
            if isinstance(e, dict)
        )
        return RecipientResult(public_id, Outcome.FAILED, reason=words or "error")
    return RecipientResult(public_id, Outcome.UNKNOWN, reason=f"status {result.get('Status')!r}")


def _error_words(error: dict[str, Any]) -> str:
    related = error.get("ErrorRelatedTo")
    where = f" ({', '.join(map(str, related))})" if isinstance(related, list) and related else ""
    return f"{error.get('ErrorCode')}: {error.get('ErrorMessage')}{where}"


def _reason(answer: HttpAnswer, body: dict[str, Any]) -> str:
    if "ErrorMessage" in body:
        return f"HTTP {answer.status}: {_error_words(body)}"
    text = answer.body[:200].decode("utf-8", "replace").strip()
    return f"HTTP {answer.status}: {text}" if text else f"HTTP {answer.status}"


def _address(value: str) -> dict[str, str]:
    name, email = parseaddr(value)
    return _person(email or value, name or None)


def _person(email: str, name: str | None) -> dict[str, str]:
    return {"Email": email, "Name": name} if name else {"Email": email}


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None
