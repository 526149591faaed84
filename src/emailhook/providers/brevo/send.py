"""Brevo's send side: ``POST /v3/smtp/email`` (JSON), ``api-key`` header.

Sources (``shared/docs/sending-anchors.md`` §2, and Brevo's documentation as the fake in
``tests/support/fake_senders/brevo.py`` reads it): one call holds up to 1,000
``messageVersions``, each with its own ``to``, ``subject``, ``replyTo``, ``params`` and
``headers``; the sender, the content, the template, the attachments and the tags belong to the
whole call, so only messages that share them share a request
(:meth:`BrevoSend.request_key`). Each message here is one version; our id (``emailhook_id``)
and the metadata travel as JSON in the version's ``X-Mailin-custom`` header, which Brevo
echoes in every webhook event (``X-Mailin-custom``: ``brevo/webhook.py``), where the receive
side joins the event to its message. The answer is HTTP 201 ``{"messageIds": [...]}``, one
per version in order. A 429 carries ``x-sib-ratelimit-reset`` (seconds until the limit
resets); a recipient on Brevo's blocklist is accepted and reported later (a ``blocked``
event): no recipient is refused in the answer.

Brevo's ``idempotencyKey`` (a UUID in the JSON ``headers``) is kept 30 minutes by the docs
(15 at its launch): a call that reuses a known key "returns a duplicate_parameter error and
does not process the request". The key here is a UUID derived from the request's message ids
(:func:`idempotency_key`), and the versions go in the order of their ids, so a resend of the
same messages after an ambiguous failure (a timeout, a lost answer, a 5xx) is the same call
under the same key: ``IDEMPOTENT``, with two differences from Resend's key.

- Brevo does not replay the first answer: the resend's ``duplicate_parameter`` says Brevo
  holds the first call, so the messages are settled ``accepted`` with that reason and no
  message id of Brevo's (their events still join them by our id in ``X-Mailin-custom``).
- The key lapses: a resend after the TTL would be a second copy. The key is trusted for
  :data:`IDEMPOTENCY_WINDOW` after the last attempt (half the documented TTL, the launch's
  15 minutes: it leaves the other half for the chain of ambiguous attempts before it, which
  the dispatcher makes ``lookup_grace_seconds`` apart); an uncertain message older than that is
  dead-lettered, never sent again (``idempotency_seconds``, read by the dispatcher).
"""

from __future__ import annotations

import json
import uuid
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
    keyed_config,
)

NAME = "brevo"
SEND = "/smtp/email"
#: Brevo's documented base URL (its version is part of it)
API_URL = "https://api.brevo.com/v3"
#: the header Brevo echoes in its events as ``X-Mailin-custom``: our id and metadata
CUSTOM_HEADER = "X-Mailin-custom"
#: the name of the idempotency key in the JSON ``headers``
IDEMPOTENCY_HEADER = "idempotencyKey"
#: our id in X-Mailin-custom
EMAILHOOK_ID = "emailhook_id"
#: how long Brevo keeps an idempotencyKey (seconds, its docs)
IDEMPOTENCY_TTL = 30 * 60
#: how long after its last attempt an uncertain message is sent again under its key
IDEMPOTENCY_WINDOW = IDEMPOTENCY_TTL / 2
#: the namespace of our idempotency keys (uuid5 of the message ids)
KEY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://emailhook/brevo/idempotencyKey")
#: Brevo's refusal of a known idempotencyKey
DUPLICATE = "duplicate_parameter"

#: the send settings, ``EMAILHOOK_BREVO_<NAME>`` (part of the provider's settings)
SEND_SETTINGS = (
    ProviderSetting("api_key", "secrets", "API key(s) (xkeysib-...) that send; the first is used"),
    ProviderSetting("api_url", "text", "the send API's base URL", API_URL),
    # the batch calls (messageVersions) are limited to 100 a minute
    ProviderSetting("send_rate", "number", "send requests a second, shared by every worker", 1.5),
)


class BrevoSend:
    """Brevo transactional sending, one message version a message (``SendSide``)."""

    name = NAME
    max_batch = 1000
    resolution = Resolution.IDEMPOTENT
    #: seconds after an attempt that its key still stands (the dispatcher dead-letters later)
    idempotency_seconds = IDEMPOTENCY_WINDOW
    #: Brevo's send API has no per-message tracking switch
    features = frozenset({"template_id", "attachments", "tags", "metadata", "headers"})

    @staticmethod
    def configure(values: ProviderValues) -> tuple[SendConfig, float | None] | None:
        """Return the send config and rate from the provider's settings, or None (no key)."""
        return keyed_config(values, "api_key", API_URL)

    def request_key(self, message: OutgoingMessage) -> Hashable:
        # what Brevo keeps for the whole call, not per message version
        return (
            message.from_email,
            message.text,
            message.html,
            message.template_id,
            message.attachments,
            message.tags,
        )

    def check(self, message: OutgoingMessage) -> str | None:
        if len(message.reply_to) > 1:
            return "Brevo takes one reply_to address a message"
        if message.template_id is not None and not message.template_id.isdigit():
            return f"Brevo's template_id is a number: {message.template_id}"
        taken = [
            name
            for name in message.headers
            if name.lower() in (CUSTOM_HEADER.lower(), IDEMPOTENCY_HEADER.lower())
        ]
        if taken:
            return f"Brevo's header {taken[0]} carries our id and metadata: it cannot be set"
        return None

    def prepare(self, messages: Sequence[OutgoingMessage], config: SendConfig) -> HttpRequest:
        ordered = sorted(messages, key=lambda m: m.public_id)
        first = ordered[0]
        body: dict[str, Any] = {"sender": _address(first.from_email)}
        if first.template_id is not None:
            body["templateId"] = int(first.template_id)
        if first.html is not None:
            body["htmlContent"] = first.html
        if first.text is not None:
            body["textContent"] = first.text
        if first.attachments:
            body["attachment"] = [
                {"name": a.filename, "content": a.content} for a in first.attachments
            ]
        if first.tags:
            body["tags"] = list(first.tags)
        body["headers"] = {IDEMPOTENCY_HEADER: idempotency_key([m.public_id for m in ordered])}
        body["messageVersions"] = [_version(m) for m in ordered]
        return HttpRequest(
            "POST",
            config.api_url.rstrip("/") + SEND,
            {
                "api-key": config.api_key,
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
        )

    def parse(
        self, answer: HttpAnswer, messages: Sequence[OutgoingMessage]
    ) -> list[RecipientResult]:
        ids = sorted(m.public_id for m in messages)  # the order of the request's versions
        if answer.status == 201:
            try:
                found = json.loads(answer.body)
            except ValueError:
                found = None
            given = found.get("messageIds") if isinstance(found, dict) else None
            if isinstance(found, dict) and given is None and len(ids) == 1:
                given = [found.get("messageId")]
            if not isinstance(given, list) or len(given) != len(ids):
                return [RecipientResult(i, Outcome.UNKNOWN, reason="unreadable 201") for i in ids]
            return [_result(i, item) for i, item in zip(ids, given, strict=True)]
        code, reason = _error(answer)
        if answer.status == 429:
            wait = retry_after(answer)
            return [RecipientResult(i, Outcome.RETRY, reason=reason, retry_after=wait) for i in ids]
        if code == DUPLICATE:
            # the key is known: Brevo holds the first call with these messages and did not
            # process this one (an IDEMPOTENT resend after an ambiguous failure)
            reason = f"{reason} (Brevo holds the first call under this idempotencyKey)"
            return [RecipientResult(i, Outcome.ACCEPTED, reason=reason) for i in ids]
        if answer.status >= 500:
            return [RecipientResult(i, Outcome.UNKNOWN, reason=reason) for i in ids]
        return [RecipientResult(i, Outcome.FAILED, reason=reason) for i in ids]

    def lookup(self, public_ids: Sequence[str], config: SendConfig) -> list[HttpRequest]:
        raise NotImplementedError("Brevo is settled by its idempotency key (IDEMPOTENT)")

    def found(self, answer: HttpAnswer) -> dict[str, str]:
        raise NotImplementedError("Brevo is settled by its idempotency key (IDEMPOTENT)")


def idempotency_key(public_ids: Sequence[str]) -> str:
    """Return the request's idempotencyKey: a UUID derived from its message ids (any order)."""
    return str(uuid.uuid5(KEY_NAMESPACE, "\n".join(sorted(public_ids))))


def retry_after(answer: HttpAnswer) -> float | None:
    """Return the seconds a 429 asks to wait: ``Retry-After`` if given, else
    ``x-sib-ratelimit-reset`` (seconds until the limit resets), else None."""
    for name in ("retry-after", "x-sib-ratelimit-reset"):
        value = answer.header(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            continue
    return None


def _version(message: OutgoingMessage) -> dict[str, Any]:
    to = {"email": message.to.email}
    if message.to.name:
        to["name"] = message.to.name
    custom = {**message.metadata, EMAILHOOK_ID: message.public_id}
    version: dict[str, Any] = {
        "to": [to],
        "headers": {
            **dict(message.headers),
            CUSTOM_HEADER: json.dumps(custom, separators=(",", ":"), ensure_ascii=False),
        },
    }
    if message.subject is not None:
        version["subject"] = message.subject
    if message.reply_to:
        version["replyTo"] = _address(message.reply_to[0])
    if message.merge_data:
        version["params"] = dict(message.merge_data)
    return version


def _result(public_id: str, item: object) -> RecipientResult:
    if isinstance(item, str) and item:
        return RecipientResult(public_id, Outcome.ACCEPTED, item)
    return RecipientResult(public_id, Outcome.UNKNOWN, reason="unreadable message id")


def _address(value: str) -> dict[str, str]:
    name, email = parseaddr(value)
    found = {"email": email or value}
    if name:
        found["name"] = name
    return found


def _error(answer: HttpAnswer) -> tuple[str | None, str]:
    try:
        body = json.loads(answer.body)
    except ValueError:
        return None, f"HTTP {answer.status}"
    if isinstance(body, dict) and "code" in body:
        return str(body["code"]), f"{answer.status} {body['code']}: {body.get('message')}"
    return None, f"HTTP {answer.status}"
