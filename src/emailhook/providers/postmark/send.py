"""Postmark's send side: ``POST /email/batch`` (JSON), ``X-Postmark-Server-Token``.

Sources (``shared/docs/sending-anchors.md`` §2 and Postmark's documentation as the fake in
``tests/support/fake_senders/postmark.py`` reads it): up to 500 messages a call, an answer of
HTTP 200 with one result per message, in order, each with its own ``ErrorCode`` (0 sent, 406
an inactive recipient: hard-bounced or complained, refused for good); a 429 with no rate
headers; ``Metadata`` (string values, names of at most 20 characters) and one ``Tag`` echoed in
every webhook, where our id (``emailhook_id``) joins the event to its message. Postmark has no
idempotency key and no lookup by our id: an ambiguous failure is never resent (``NONE``).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
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
)

NAME = "postmark"
BATCH = "/email/batch"
API_URL = "https://api.postmarkapp.com"
#: Postmark's limit on a Metadata field's name
METADATA_NAME_CHARS = 20
#: our id in Metadata: Postmark's webhooks echo it back
EMAILHOOK_ID = "emailhook_id"
#: ErrorCode of an inactive recipient (a hard bounce or a complaint on Postmark's side)
INACTIVE = 406

#: the send settings, ``EMAILHOOK_POSTMARK_<NAME>`` (part of the provider's settings)
SEND_SETTINGS = (
    ProviderSetting("server_token", "secrets", "server API token(s) that send; the first is used"),
    ProviderSetting("api_url", "text", "the send API's base URL", API_URL),
    ProviderSetting("message_stream", "text", "the message stream messages go to", "outbound"),
    ProviderSetting("send_rate", "number", "send requests a second, shared by every worker", 10.0),
)


class PostmarkSend:
    """Postmark batch sending (``SendSide``)."""

    name = NAME
    max_batch = 500
    resolution = Resolution.NONE
    features = frozenset(
        {"attachments", "tags", "metadata", "headers", "track_opens", "track_clicks"}
    )

    @staticmethod
    def configure(values: ProviderValues) -> tuple[SendConfig, float | None] | None:
        """Return the send config and rate from the provider's settings, or None (no token)."""
        tokens = values.get("server_token") or ()
        if not tokens:
            return None
        config = SendConfig(
            values.get("api_url") or API_URL,
            tokens[0],
            extra={"message_stream": values.get("message_stream") or "outbound"},
        )
        return config, values.get("send_rate")

    def request_key(self, message: OutgoingMessage) -> Hashable:
        return None  # every option is per message

    def check(self, message: OutgoingMessage) -> str | None:
        if len(message.tags) > 1:
            return "Postmark takes one tag a message"
        long_names = [k for k in message.metadata if len(str(k)) > METADATA_NAME_CHARS]
        if long_names:
            return f"Postmark's metadata names are at most 20 characters: {', '.join(long_names)}"
        return None

    def prepare(self, messages: Sequence[OutgoingMessage], config: SendConfig) -> HttpRequest:
        body = [self._message(m, config) for m in messages]
        return HttpRequest(
            "POST",
            config.api_url.rstrip("/") + BATCH,
            {
                "X-Postmark-Server-Token": config.api_key,
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
        )

    @staticmethod
    def _message(message: OutgoingMessage, config: SendConfig) -> dict[str, Any]:
        to = message.to
        item: dict[str, Any] = {
            "From": message.from_email,
            "To": f'"{to.name}" <{to.email}>' if to.name else to.email,
            "Subject": message.subject or "",
            "MessageStream": config.extra.get("message_stream", "outbound"),
            "Metadata": {
                **{str(k): _text(v) for k, v in message.metadata.items()},
                EMAILHOOK_ID: message.public_id,
            },
        }
        if message.text is not None:
            item["TextBody"] = message.text
        if message.html is not None:
            item["HtmlBody"] = message.html
        if message.reply_to:
            item["ReplyTo"] = ", ".join(message.reply_to)
        if message.headers:
            item["Headers"] = [{"Name": k, "Value": v} for k, v in message.headers.items()]
        if message.tags:
            item["Tag"] = message.tags[0]
        if message.track_opens is not None:
            item["TrackOpens"] = message.track_opens
        if message.track_clicks is not None:
            item["TrackLinks"] = "HtmlAndText" if message.track_clicks else "None"
        if message.attachments:
            item["Attachments"] = [
                {"Name": a.filename, "Content": a.content, "ContentType": a.content_type}
                for a in message.attachments
            ]
        return item

    def parse(
        self, answer: HttpAnswer, messages: Sequence[OutgoingMessage]
    ) -> list[RecipientResult]:
        ids = [m.public_id for m in messages]
        if answer.status == 200:
            try:
                results = json.loads(answer.body)
            except ValueError:
                results = None
            if not isinstance(results, list) or len(results) != len(ids):
                return [RecipientResult(i, Outcome.UNKNOWN, reason="unreadable 200") for i in ids]
            return [_result(i, r) for i, r in zip(ids, results, strict=True)]
        reason = _reason(answer)
        if answer.status == 429:
            return [RecipientResult(i, Outcome.RETRY, reason=reason) for i in ids]
        if answer.status >= 500:
            return [RecipientResult(i, Outcome.UNKNOWN, reason=reason) for i in ids]
        return [RecipientResult(i, Outcome.FAILED, reason=reason) for i in ids]

    def lookup(self, public_ids: Sequence[str], config: SendConfig) -> list[HttpRequest]:
        raise NotImplementedError("Postmark cannot be asked by our id (Resolution.NONE)")

    def found(self, answer: HttpAnswer) -> dict[str, str]:
        raise NotImplementedError("Postmark cannot be asked by our id (Resolution.NONE)")


def _result(public_id: str, result: object) -> RecipientResult:
    if not isinstance(result, dict):
        return RecipientResult(public_id, Outcome.UNKNOWN, reason="unreadable result")
    code = result.get("ErrorCode")
    words = f"{code}: {result.get('Message')}"
    if code == 0 and result.get("MessageID"):
        return RecipientResult(public_id, Outcome.ACCEPTED, str(result["MessageID"]))
    if code == INACTIVE:  # a hard bounce, a complaint or a manual suppression: Postmark's list
        return RecipientResult(
            public_id, Outcome.REJECTED, reason=words, reject_reason=RejectReason.BOUNCED
        )
    return RecipientResult(public_id, Outcome.FAILED, reason=words)


def _reason(answer: HttpAnswer) -> str:
    try:
        body = json.loads(answer.body)
    except ValueError:
        return f"HTTP {answer.status}"
    if isinstance(body, dict) and "ErrorCode" in body:
        return f"{body.get('ErrorCode')}: {body.get('Message')}"
    return f"HTTP {answer.status}"


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
