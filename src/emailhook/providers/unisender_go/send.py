"""Unisender Go's send side: ``POST <api_url>/email/send.json`` (JSON ``{"message": {...}}``),
``X-API-KEY``.

Sources (``shared/docs/sending-anchors.md`` §2, Unisender Go's web API reference and anymail's
``backends/unisender_go.py`` as the fake in ``tests/support/fake_senders/unisender_go.py`` reads
them): the host depends on the account's data centre (``go1.unisender.ru``, ``go2...``: the
``api_url`` setting); up to 500 ``recipients`` a call, each getting its own copy, with its own
``substitutions`` (``to_name`` fills the name in To) and ``metadata`` (10 fields at most, echoed
in every webhook event, where our id ``emailhook_id`` joins the event to its message); body,
subject, sender, headers, attachments, tags and tracking belong to the whole call, so only
messages that share them share a call (:meth:`UnisenderGoSend.request_key`).

The answer is ``200 {"status": "success", "job_id", "emails": [...], "failed_emails": {address:
reason}}``; the ``job_id`` is echoed in every event as well and is recorded as the provider's
message id. Each reason of ``failed_emails``, decided per reason:

- ``unsubscribed``, ``permanent_unavailable``, ``invalid``: refused for good (``REJECTED``, the
  reason kept): Unisender Go will not send to the address;
- ``temporary_unavailable``: also ``REJECTED``, the reason saying it is temporary. Unisender Go
  blocks the address itself, from its own delivery history, for a period it sets; our retries
  (eight, backing off to ten minutes) would be refused the same way and only spend the
  account's pace, and a ``RETRY`` means "throttled, try again", which this is not. The reason
  keeps the word ``temporary_unavailable``, so it is never read as a permanent suppression;
- ``duplicate``: the address was twice in the call and Unisender Go sent it once (it stays in
  ``emails``): the first of our messages to it is accepted, any later one was never sent and
  goes again (``RETRY``) in another call.

A 429 (no rate headers documented; ``Retry-After`` honoured if present) is retried; a 5xx is
uncertain; other errors are ``{"status": "error", "message", "code"}``, final. No idempotency
key and no lookup by our id: an ambiguous failure is never resent (``NONE``).

The API key is the one the webhook side checks events with (``api_keys``): the first sends.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from email.utils import parseaddr
from typing import Any

from emailhook.domain.sending.message import OutgoingMessage
from emailhook.domain.sending.retries import Resolution
from emailhook.domain.vocabulary import RejectReason
from emailhook.providers.base import ProviderSetting, ProviderValues
from emailhook.providers.sending import (
    HttpAnswer,
    HttpRequest,
    Outcome,
    RecipientResult,
    SendConfig,
    keyed_config,
)

NAME = "unisender_go"
SEND = "/email/send.json"
#: the first data centre's API; an account elsewhere sets its own (go2.unisender.ru, ...)
API_URL = "https://go1.unisender.ru/ru/transactional/api/v1"
#: our id in each recipient's metadata: every event echoes it
EMAILHOOK_ID = "emailhook_id"
#: metadata fields a recipient at most (ours among them)
MAX_METADATA = 10
#: the substitution that names the recipient in To
TO_NAME = "to_name"
#: failed_emails reasons that end a message refused
#: failed_emails' reasons that refuse the recipient, in our vocabulary: only Unisender Go's
#: lasting suppressions suppress here too; ``temporary_unavailable`` is its own timed block
REFUSED: dict[str, RejectReason] = {
    "unsubscribed": RejectReason.UNSUBSCRIBED,
    "permanent_unavailable": RejectReason.BOUNCED,
    "temporary_unavailable": RejectReason.OTHER,
    "invalid": RejectReason.INVALID,
}
DUPLICATE = "duplicate"

#: the send settings, ``EMAILHOOK_UNISENDER_GO_<NAME>`` (part of the provider's settings; the
#: key is the webhook side's ``api_keys``)
SEND_SETTINGS = (
    ProviderSetting(
        "api_url",
        "text",
        "the send API's base URL, on the account's data centre (e.g. go2.unisender.ru)",
        API_URL,
    ),
    ProviderSetting("send_rate", "number", "send requests a second, shared by every worker", 5.0),
)


class UnisenderGoSend:
    """Unisender Go's email/send.json, up to 500 recipients a call (``SendSide``)."""

    name = NAME
    max_batch = 500
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
        """Return the send config and rate from the provider's settings, or None (no key)."""
        return keyed_config(values, "api_keys", API_URL)

    def request_key(self, message: OutgoingMessage) -> Hashable:
        # what Unisender Go keeps for the whole call, not per recipient
        return (
            message.from_email,
            message.subject,
            message.text,
            message.html,
            message.template_id,
            message.reply_to,
            tuple(message.headers.items()),
            message.attachments,
            message.tags,
            message.track_opens,
            message.track_clicks,
        )

    def check(self, message: OutgoingMessage) -> str | None:
        if len(message.reply_to) > 1:
            return "Unisender Go takes one reply_to address"
        fields = {str(k) for k in message.metadata} | {EMAILHOOK_ID}
        if len(fields) > MAX_METADATA:
            return (
                f"Unisender Go keeps {MAX_METADATA} metadata fields a recipient, our id among"
                f" them: at most {MAX_METADATA - 1} of yours"
            )
        return None

    def prepare(self, messages: Sequence[OutgoingMessage], config: SendConfig) -> HttpRequest:
        return HttpRequest(
            "POST",
            config.api_url.rstrip("/") + SEND,
            {
                "X-API-KEY": config.api_key,
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            json.dumps(
                {"message": _message(messages)}, separators=(",", ":"), ensure_ascii=False
            ).encode(),
        )

    def parse(
        self, answer: HttpAnswer, messages: Sequence[OutgoingMessage]
    ) -> list[RecipientResult]:
        ids = [m.public_id for m in messages]
        if answer.status == 200:
            return _results(answer, messages)
        reason = _reason(answer)
        if answer.status == 429:
            wait = _seconds(answer.header("Retry-After"))
            return [RecipientResult(i, Outcome.RETRY, reason=reason, retry_after=wait) for i in ids]
        if answer.status >= 500 or 200 <= answer.status < 300:
            return [RecipientResult(i, Outcome.UNKNOWN, reason=reason) for i in ids]
        return [RecipientResult(i, Outcome.FAILED, reason=reason) for i in ids]

    def lookup(self, public_ids: Sequence[str], config: SendConfig) -> list[HttpRequest]:
        raise NotImplementedError("Unisender Go cannot be asked by our id (Resolution.NONE)")

    def found(self, answer: HttpAnswer) -> dict[str, str]:
        raise NotImplementedError("Unisender Go cannot be asked by our id (Resolution.NONE)")


def _message(messages: Sequence[OutgoingMessage]) -> dict[str, Any]:
    """Return the ``message`` of one call (messages that share :meth:`request_key`)."""
    first = messages[0]
    name, email = parseaddr(first.from_email)
    body: dict[str, Any] = {
        "recipients": [_recipient(m) for m in messages],
        "from_email": email or first.from_email,
    }
    if name:
        body["from_name"] = name
    if first.subject is not None:
        body["subject"] = first.subject
    content = {}
    if first.html is not None:
        content["html"] = first.html
    if first.text is not None:
        content["plaintext"] = first.text
    if content:
        body["body"] = content
    if first.template_id is not None:
        body["template_id"] = first.template_id
    if first.reply_to:
        reply_name, reply_email = parseaddr(first.reply_to[0])
        body["reply_to"] = reply_email or first.reply_to[0]
        if reply_name:
            body["reply_to_name"] = reply_name
    if first.headers:
        body["headers"] = dict(first.headers)
    if first.attachments:
        body["attachments"] = [
            {"type": a.content_type, "name": a.filename, "content": a.content}
            for a in first.attachments
        ]
    if first.tags:
        body["tags"] = list(first.tags)
    if first.track_opens is not None:
        body["track_read"] = 1 if first.track_opens else 0
    if first.track_clicks is not None:
        body["track_links"] = 1 if first.track_clicks else 0
    return body


def _recipient(message: OutgoingMessage) -> dict[str, Any]:
    item: dict[str, Any] = {
        "email": message.to.email,
        "metadata": {
            **{str(k): _text(v) for k, v in message.metadata.items()},
            EMAILHOOK_ID: message.public_id,
        },
    }
    substitutions: dict[str, str] = {}
    if message.template_id is not None:
        substitutions.update(message.merge_data)
    if message.to.name:
        substitutions[TO_NAME] = message.to.name
    if substitutions:
        item["substitutions"] = substitutions
    return item


def _results(answer: HttpAnswer, messages: Sequence[OutgoingMessage]) -> list[RecipientResult]:
    """Return each message's result from a 200: ``failed_emails`` decided per reason (see
    the module's docstring), the addresses of ``emails`` accepted under the ``job_id``."""
    try:
        body = json.loads(answer.body)
    except ValueError:
        body = None
    job_id = body.get("job_id") if isinstance(body, dict) else None
    emails = body.get("emails") if isinstance(body, dict) else None
    failed = (body.get("failed_emails") or {}) if isinstance(body, dict) else None
    if (
        not isinstance(job_id, str)
        or not job_id
        or not isinstance(emails, list)
        or not isinstance(failed, dict)
    ):
        return [
            RecipientResult(m.public_id, Outcome.UNKNOWN, reason="unreadable 200") for m in messages
        ]
    sent = {str(e).lower() for e in emails}
    reasons = {str(k).lower(): str(v) for k, v in failed.items()}
    results = []
    seen: set[str] = set()
    for message in messages:
        address = message.to.email.lower()
        reason = reasons.get(address)
        first = address not in seen
        seen.add(address)
        if reason in REFUSED:
            results.append(
                RecipientResult(
                    message.public_id,
                    Outcome.REJECTED,
                    reason=f"failed_emails: {reason}",
                    reject_reason=REFUSED[reason],
                )
            )
        elif address in sent and first:
            results.append(RecipientResult(message.public_id, Outcome.ACCEPTED, job_id))
        elif address in sent and reason == DUPLICATE:
            why = "failed_emails: duplicate (the address was sent once in this call)"
            results.append(RecipientResult(message.public_id, Outcome.RETRY, reason=why))
        elif reason is not None:
            why = f"failed_emails: {reason}"
            results.append(RecipientResult(message.public_id, Outcome.FAILED, reason=why))
        else:
            why = "200 without the address in emails or failed_emails"
            results.append(RecipientResult(message.public_id, Outcome.UNKNOWN, reason=why))
    return results


def _reason(answer: HttpAnswer) -> str:
    try:
        body = json.loads(answer.body)
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        code = body.get("code")
        words = f"{code}: {body['message']}" if code is not None else str(body["message"])
        return f"HTTP {answer.status}: {words}"
    text = answer.body[:200].decode("utf-8", "replace").strip()
    return f"HTTP {answer.status}: {text}" if text else f"HTTP {answer.status}"


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
