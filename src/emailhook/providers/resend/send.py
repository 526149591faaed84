"""Resend's send side: ``POST /emails/batch`` (JSON), ``Authorization: Bearer re_...``.

Sources (``shared/docs/sending-anchors.md`` §2 and §4.3, and Resend's documentation as the
fake in ``tests/support/fake_senders/resend.py`` reads it): up to 100 e-mails a call, no
attachments and no ``scheduled_at`` in a batch, an answer of HTTP 200 ``{"data": [{"id"}]}``
in request order; native ``tags`` (name and value of ASCII letters, digits, ``_`` and ``-``)
come back in every webhook's ``data.tags``, where our id (``emailhook_id``) joins the event to
its message, so our metadata travels there too, under the same charset. A 429 carries
``retry-after``; a suppressed recipient is accepted and reported later (a bounce event).

Resend keeps an ``Idempotency-Key`` for 24 hours: the same key with the same body answers the
first answer again and sends nothing. The key here is a digest of the request's message ids,
and the body is a function of the messages alone, so a resend of the same messages after an
ambiguous failure (a timeout, a lost answer, a 5xx) is the same request, deduplicated by
Resend (``IDEMPOTENT``). The e-mails go in the order of their ids, so the same messages make
the same body whatever order a worker took them in. Resend's 409s leave the messages
uncertain (``UNKNOWN``), to be sent again with the same key, never with a new one:
``concurrent_idempotent_requests`` (the first request with this key is still in flight and may
send them: a later resend gets its answer) and ``invalid_idempotent_request`` (the key went
with another body: the messages may have gone with it; the attempts' bound ends them).
"""

from __future__ import annotations

import hashlib
import json
import re
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
    keyed_config,
)

NAME = "resend"
BATCH = "/emails/batch"
API_URL = "https://api.resend.com"
#: our id in tags: Resend's webhooks echo them in ``data.tags``
EMAILHOOK_ID = "emailhook_id"
#: what a tag's name and value may hold
TAG = re.compile(r"[A-Za-z0-9_-]{1,256}")
#: Resend's 409s on an Idempotency-Key
CONCURRENT = "concurrent_idempotent_requests"
MISMATCH = "invalid_idempotent_request"

#: the send settings, ``EMAILHOOK_RESEND_<NAME>`` (part of the provider's settings)
SEND_SETTINGS = (
    ProviderSetting("api_key", "secrets", "API key(s) (re_...) that send; the first is used"),
    ProviderSetting("api_url", "text", "the send API's base URL", API_URL),
    ProviderSetting("send_rate", "number", "send requests a second, shared by every worker", 2.0),
)


class ResendSend:
    """Resend batch sending with an idempotency key (``SendSide``)."""

    name = NAME
    max_batch = 100
    resolution = Resolution.IDEMPOTENT
    #: no attachments in a batch; no per-message tracking switch; plain tags are not
    #: Resend's (name and value pairs: our metadata goes there)
    features = frozenset({"metadata", "headers"})

    @staticmethod
    def configure(values: ProviderValues) -> tuple[SendConfig, float | None] | None:
        """Return the send config and rate from the provider's settings, or None (no key)."""
        return keyed_config(values, "api_key", API_URL)

    def request_key(self, message: OutgoingMessage) -> Hashable:
        return None  # every option is per e-mail

    def check(self, message: OutgoingMessage) -> str | None:
        bad = [
            f"{k}={_text(v)}"
            for k, v in message.metadata.items()
            if not (TAG.fullmatch(str(k)) and TAG.fullmatch(_text(v)))
        ]
        if bad:
            return (
                "Resend's tags (our metadata) take only ASCII letters, digits, _ and -:"
                f" {', '.join(bad)}"
            )
        return None

    def prepare(self, messages: Sequence[OutgoingMessage], config: SendConfig) -> HttpRequest:
        ordered = sorted(messages, key=lambda m: m.public_id)
        body = [_email(m) for m in ordered]
        return HttpRequest(
            "POST",
            config.api_url.rstrip("/") + BATCH,
            {
                "Authorization": f"Bearer {config.api_key}",
                "Accept": "application/json",
                "Content-Type": "application/json",
                "Idempotency-Key": idempotency_key([m.public_id for m in ordered]),
            },
            json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
        )

    def parse(
        self, answer: HttpAnswer, messages: Sequence[OutgoingMessage]
    ) -> list[RecipientResult]:
        ids = sorted(m.public_id for m in messages)  # the order of the request's e-mails
        if answer.status == 200:
            try:
                data = json.loads(answer.body).get("data")
            except (ValueError, AttributeError):
                data = None
            if not isinstance(data, list) or len(data) != len(ids):
                return [RecipientResult(i, Outcome.UNKNOWN, reason="unreadable 200") for i in ids]
            return [_result(i, item) for i, item in zip(ids, data, strict=True)]
        name, reason = _error(answer)
        if answer.status == 429:
            wait = _seconds(answer.header("retry-after"))
            return [RecipientResult(i, Outcome.RETRY, reason=reason, retry_after=wait) for i in ids]
        if answer.status >= 500 or name in (CONCURRENT, MISMATCH):
            return [RecipientResult(i, Outcome.UNKNOWN, reason=reason) for i in ids]
        return [RecipientResult(i, Outcome.FAILED, reason=reason) for i in ids]

    def lookup(self, public_ids: Sequence[str], config: SendConfig) -> list[HttpRequest]:
        raise NotImplementedError("Resend is settled by its idempotency key (IDEMPOTENT)")

    def found(self, answer: HttpAnswer) -> dict[str, str]:
        raise NotImplementedError("Resend is settled by its idempotency key (IDEMPOTENT)")


def idempotency_key(public_ids: Sequence[str]) -> str:
    """Return the request's Idempotency-Key: a digest of its message ids (in any order)."""
    digest = hashlib.sha256("\n".join(sorted(public_ids)).encode()).hexdigest()
    return f"emailhook-{digest}"


def _email(message: OutgoingMessage) -> dict[str, Any]:
    to = message.to
    item: dict[str, Any] = {
        "from": message.from_email,
        "to": [f'"{to.name}" <{to.email}>' if to.name else to.email],
        "subject": message.subject or "",
        "tags": [
            *(
                {"name": str(k), "value": _text(v)}
                for k, v in message.metadata.items()
                if k != EMAILHOOK_ID
            ),
            {"name": EMAILHOOK_ID, "value": message.public_id},
        ],
    }
    if message.text is not None:
        item["text"] = message.text
    if message.html is not None:
        item["html"] = message.html
    if message.reply_to:
        item["reply_to"] = list(message.reply_to)
    if message.headers:
        item["headers"] = dict(message.headers)
    return item


def _result(public_id: str, item: object) -> RecipientResult:
    if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]:
        return RecipientResult(public_id, Outcome.ACCEPTED, item["id"])
    return RecipientResult(public_id, Outcome.UNKNOWN, reason="unreadable result")


def _error(answer: HttpAnswer) -> tuple[str | None, str]:
    try:
        body = json.loads(answer.body)
    except ValueError:
        return None, f"HTTP {answer.status}"
    if isinstance(body, dict) and "name" in body:
        return str(body["name"]), f"{answer.status} {body['name']}: {body.get('message')}"
    return None, f"HTTP {answer.status}"


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
