"""Mandrill's send side: ``POST /messages/send.json`` (JSON), the API key in the body's ``key``.

Sources (``shared/docs/sending-anchors.md`` §2, Mailchimp Transactional's messages/send and
its SendResult schema, and anymail, as the fake in ``tests/support/fake_senders/mandrill.py``
reads them): one Mandrill message to many recipients, each getting their own copy
(``preserve_recipients: false``); ``metadata`` and each recipient's ``recipient_metadata``
values come back merged in every webhook event's ``msg.metadata``, where our id
(``emailhook_id``) joins the event to its message, so our id and each message's metadata
travel in ``recipient_metadata``. The answer lists each recipient's ``status``: sent, queued
or scheduled (taken, ``_id`` its message id), rejected (on Mandrill's rejection list, with a
``reject_reason``: hard-bounce, spam, unsub...) or invalid (refused for good). Errors are
``{"status": "error", "name", "message"}``, with HTTP 500 even for a wrong key
(``Invalid_Key``): the ``name`` says what it is, not the status.

At most 10 messages a call: Mandrill sends a call of more than 10 recipients asynchronously
whatever its ``async`` says, answering "queued" for everyone and reporting refusals only by a
``reject`` webhook; up to 10, ``async: false`` has it refuse a suppressed recipient in the
answer itself. Only messages alike but for the recipient and the metadata share a call
(:meth:`MandrillSend.request_key`), and never two to one address (the dispatcher's rule:
``recipient_metadata`` is keyed by address). Mandrill's 429 is not in the sources: a 429 is
throttling, ``Retry-After`` honoured if present. No idempotency key and no lookup by our id
here: an ambiguous failure is never resent (``NONE``).
"""

from __future__ import annotations

import hashlib
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

NAME = "mandrill"
SEND = "/messages/send.json"
API_URL = "https://mandrillapp.com/api/1.0"
#: our id in recipient_metadata: Mandrill's events echo it in ``msg.metadata``
EMAILHOOK_ID = "emailhook_id"
#: recipients a call that Mandrill still answers synchronously
SYNCHRONOUS_MOST = 10
#: Mandrill's limit on a tag, and the tags it keeps for itself
TAG_CHARS = 50
#: recipient statuses: the recipient was taken / refused for good
TAKEN = frozenset({"sent", "queued", "scheduled"})
REFUSED = frozenset({"rejected", "invalid"})
#: a rejection's ``reject_reason`` (Mandrill's rejection list) in our vocabulary; the others
#: (soft-bounce, a custom rule, test mode, an unsigned domain, ...) suppress nothing here
REJECT_REASONS: dict[str, RejectReason] = {
    "hard-bounce": RejectReason.BOUNCED,
    "spam": RejectReason.SPAM,
    "unsub": RejectReason.UNSUBSCRIBED,
}
#: error names that refuse the request for good (any other on a 5xx may have sent it)
REQUEST_ERRORS = frozenset(
    {"Invalid_Key", "ValidationError", "PaymentRequired", "Unknown_Subaccount"}
)

#: the send settings, ``EMAILHOOK_MANDRILL_<NAME>`` (part of the provider's settings)
SEND_SETTINGS = (
    ProviderSetting("api_key", "secrets", "API key(s) that send; the first is used"),
    ProviderSetting("api_url", "text", "the send API's base URL", API_URL),
    ProviderSetting("send_rate", "number", "send requests a second, shared by every worker", 10.0),
)


class MandrillSend:
    """Mandrill messages/send, one copy per recipient (``SendSide``)."""

    name = NAME
    max_batch = SYNCHRONOUS_MOST
    resolution = Resolution.NONE
    #: ``template_id`` is messages/send-template's, another endpoint: not carried
    features = frozenset(
        {"attachments", "tags", "metadata", "headers", "track_opens", "track_clicks"}
    )

    @staticmethod
    def configure(values: ProviderValues) -> tuple[SendConfig, float | None] | None:
        """Return the send config and rate from the provider's settings, or None (no key)."""
        return keyed_config(values, "api_key", API_URL)

    def request_key(self, message: OutgoingMessage) -> Hashable:
        """Return what the messages of one call share: everything but the recipient and the
        metadata."""
        return (
            message.from_email,
            message.subject,
            message.text,
            message.html,
            message.reply_to,
            tuple(message.headers.items()),
            tuple((a.filename, a.content_type, _digest(a.content)) for a in message.attachments),
            message.tags,
            message.track_opens,
            message.track_clicks,
        )

    def check(self, message: OutgoingMessage) -> str | None:
        odd = [t for t in message.tags if len(t) > TAG_CHARS or t.startswith("_")]
        if odd:
            return (
                f"Mandrill's tags are at most {TAG_CHARS} characters and may not begin with"
                f" '_': {', '.join(odd)}"
            )
        return None

    def prepare(self, messages: Sequence[OutgoingMessage], config: SendConfig) -> HttpRequest:
        body = {"key": config.api_key, "message": _message(messages), "async": False}
        return HttpRequest(
            "POST",
            config.api_url.rstrip("/") + SEND,
            {"Accept": "application/json", "Content-Type": "application/json"},
            json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
        )

    def parse(
        self, answer: HttpAnswer, messages: Sequence[OutgoingMessage]
    ) -> list[RecipientResult]:
        ids = [m.public_id for m in messages]
        body = _json(answer.body)
        if answer.status == 200 and isinstance(body, list):
            by_address = {str(r.get("email", "")).lower(): r for r in body if isinstance(r, dict)}
            return [_result(m.public_id, by_address.get(m.to.email.lower())) for m in messages]
        name, reason = _error(answer, body)
        if answer.status == 429:
            wait = _seconds(answer.header("Retry-After"))
            return [RecipientResult(i, Outcome.RETRY, reason=reason, retry_after=wait) for i in ids]
        if name in REQUEST_ERRORS or 400 <= answer.status < 500:
            return [RecipientResult(i, Outcome.FAILED, reason=reason) for i in ids]
        # a 5xx (Mandrill's GeneralError) or an unreadable 200 may have been sent
        return [RecipientResult(i, Outcome.UNKNOWN, reason=reason) for i in ids]

    def lookup(self, public_ids: Sequence[str], config: SendConfig) -> list[HttpRequest]:
        raise NotImplementedError("Mandrill is not asked by our id here (Resolution.NONE)")

    def found(self, answer: HttpAnswer) -> dict[str, str]:
        raise NotImplementedError("Mandrill is not asked by our id here (Resolution.NONE)")


def _message(messages: Sequence[OutgoingMessage]) -> dict[str, Any]:
    """Return the Mandrill message of one call (messages that share :meth:`request_key`)."""
    first = messages[0]
    name, email = parseaddr(first.from_email)
    item: dict[str, Any] = {"from_email": email or first.from_email}
    if name:
        item["from_name"] = name
    item["to"] = [_recipient(m) for m in messages]
    item["preserve_recipients"] = False
    if first.subject is not None:
        item["subject"] = first.subject
    if first.text is not None:
        item["text"] = first.text
    if first.html is not None:
        item["html"] = first.html
    headers = dict(first.headers)
    if first.reply_to:
        headers["Reply-To"] = ", ".join(first.reply_to)
    if headers:
        item["headers"] = headers
    if first.tags:
        item["tags"] = list(first.tags)
    if first.track_opens is not None:
        item["track_opens"] = first.track_opens
    if first.track_clicks is not None:
        item["track_clicks"] = first.track_clicks
    if first.attachments:
        item["attachments"] = [
            {"type": a.content_type, "name": a.filename, "content": a.content}
            for a in first.attachments
        ]
    item["recipient_metadata"] = [
        {"rcpt": m.to.email, "values": recipient_values(m)} for m in messages
    ]
    return item


def recipient_values(message: OutgoingMessage) -> dict[str, str]:
    """Return one recipient's ``recipient_metadata`` values: its metadata and our id."""
    return {
        **{str(k): _text(v) for k, v in message.metadata.items()},
        EMAILHOOK_ID: message.public_id,
    }


def _recipient(message: OutgoingMessage) -> dict[str, str]:
    to = {"email": message.to.email, "type": "to"}
    if message.to.name:
        to["name"] = message.to.name
    return to


def _result(public_id: str, result: dict[str, Any] | None) -> RecipientResult:
    if result is None:
        return RecipientResult(public_id, Outcome.UNKNOWN, reason="not in Mandrill's answer")
    status = result.get("status")
    if status in TAKEN and isinstance(result.get("_id"), str) and result["_id"]:
        return RecipientResult(public_id, Outcome.ACCEPTED, result["_id"])
    if status in REFUSED:
        why = result.get("reject_reason")
        return RecipientResult(
            public_id,
            Outcome.REJECTED,
            reason=f"{status}: {why}" if why else status,
            reject_reason=RejectReason.INVALID
            if status == "invalid"
            else REJECT_REASONS.get(str(why), RejectReason.OTHER),
        )
    return RecipientResult(public_id, Outcome.UNKNOWN, reason=f"status {status!r}")


def _error(answer: HttpAnswer, body: object) -> tuple[str | None, str]:
    if isinstance(body, dict) and body.get("status") == "error":
        name = str(body.get("name"))
        return name, f"HTTP {answer.status} {name}: {body.get('message')}"
    text = answer.body[:200].decode("utf-8", "replace").strip()
    return None, f"HTTP {answer.status}: {text}" if text else f"HTTP {answer.status}"


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _digest(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
