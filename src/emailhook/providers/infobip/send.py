"""Infobip's send side: e-mail API v4, ``POST /email/4/messages`` (JSON).

Sources: ``shared/docs/sending-infobip.md`` §2 (the v4 request tree and answer, from Infobip's
OpenAPI spec 3.210.0), §4 (429 in two body shapes, no Retry-After documented), §6 (our
``messageId`` per recipient, ``GET /email/4/logs?messageId=`` to settle an unknown outcome);
``shared/payloads/infobip/email_messages_v4_*``.

Each of our messages is one item of ``messages[]`` with one ``to`` recipient: its own
``messageId`` (our public id, so the logs can be asked about it before any answer came back),
its own ``webhooks.callbackData`` (its metadata and ``emailhook_id``) and delivery URL. The
tracking URL exists at request level only (§2.1). Placeholders are rendered by us before this;
a provider template (``templateId``) gets the recipient's merge data as Infobip placeholders.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from emailhook.domain.callback_data import callback_fields
from emailhook.domain.sending.message import OutgoingMessage
from emailhook.domain.sending.retries import Resolution
from emailhook.providers.sending import (
    HttpAnswer,
    HttpRequest,
    Outcome,
    RecipientResult,
    SendConfig,
)

NAME = "infobip"
MESSAGES = "/email/4/messages"
LOGS = "/email/4/logs"
#: callbackData's limit (§2.1)
CALLBACK_DATA_CHARS = 4000
#: ``messageId`` list of a logs query, in characters (§6)
LOGS_IDS_CHARS = 2048
#: our id in callbackData: the receive side reads it back from every report
EMAILHOOK_ID = "emailhook_id"


class CallbackDataTooLongError(ValueError):
    """A message's metadata does not fit Infobip's callbackData (4000 characters)."""


def callback_data(message: OutgoingMessage) -> str:
    """Return a message's callbackData: its metadata and our id, as compact JSON."""
    data = {**message.metadata, EMAILHOOK_ID: message.public_id}
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    if len(text) > CALLBACK_DATA_CHARS:
        raise CallbackDataTooLongError(
            f"metadata is {len(text)} characters as callbackData;"
            f" Infobip keeps {CALLBACK_DATA_CHARS}"
        )
    return text


class InfobipSend:
    """Infobip v4 sending (``SendSide``)."""

    name = NAME
    #: messages per request: Infobip allows 1000 recipients a message and no count of
    #: messages is documented; 100 keeps a request well under its 10 MB
    max_batch = 100
    resolution = Resolution.LOOKUP
    features = frozenset(
        {"template_id", "attachments", "tags", "metadata", "headers", "track_opens", "track_clicks"}
    )

    def request_key(self, message: OutgoingMessage) -> Hashable:
        # v4 has tracking at request level only (§2.1)
        return (message.track_opens, message.track_clicks)

    def check(self, message: OutgoingMessage) -> str | None:
        try:
            callback_data(message)
        except CallbackDataTooLongError as error:
            return str(error)
        return None

    def prepare(self, messages: Sequence[OutgoingMessage], config: SendConfig) -> HttpRequest:
        body: dict[str, Any] = {"messages": [self._message(m, config) for m in messages]}
        tracking: dict[str, Any] = {}
        first = messages[0]
        if first.track_opens is not None:
            tracking["trackOpens"] = first.track_opens
        if first.track_clicks is not None:
            tracking["trackClicks"] = first.track_clicks
        if config.tracking_url:
            tracking["trackingUrl"] = config.tracking_url
        if tracking:
            body["options"] = {"tracking": tracking}
        return HttpRequest(
            "POST",
            config.api_url.rstrip("/") + MESSAGES,
            _headers(config),
            json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
        )

    @staticmethod
    def _message(message: OutgoingMessage, config: SendConfig) -> dict[str, Any]:
        recipient: dict[str, Any] = {
            "destination": message.to.email,
            "messageId": message.public_id,
        }
        if message.template_id is not None and message.merge_data:
            recipient["placeholders"] = json.dumps(dict(message.merge_data), ensure_ascii=False)
        destination: dict[str, Any] = {"to": [recipient]}
        if message.reply_to:
            destination["replyTo"] = message.reply_to[0]
        content: dict[str, Any] = {}
        if message.template_id is not None:
            content["templateId"] = message.template_id
        for key in ("subject", "text", "html"):
            value = getattr(message, key)
            if value is not None:
                content[key] = value
        if message.headers:
            content["headers"] = json.dumps(dict(message.headers), ensure_ascii=False)
        if message.attachments:
            content["attachments"] = [
                {
                    "type": "binary",
                    "content": a.content,
                    "contentType": a.content_type,
                    "fileName": a.filename,
                }
                for a in message.attachments
            ]
        item: dict[str, Any] = {
            "sender": _sender(message.from_email),
            "destinations": [destination],
            "content": content,
        }
        webhooks: dict[str, Any] = {
            "contentType": "application/json",
            "callbackData": callback_data(message),
        }
        if config.delivery_url:
            webhooks["delivery"] = {"url": config.delivery_url}
        item["webhooks"] = webhooks
        # the campaign as the receive side reads it back, else a plain ``campaign`` key
        campaign = callback_fields(dict(message.metadata))["campaign"]
        campaign = campaign if campaign is not None else message.metadata.get("campaign")
        if campaign is not None:
            item["options"] = {"campaignReferenceId": str(campaign)[:255]}
        return item

    def parse(
        self, answer: HttpAnswer, messages: Sequence[OutgoingMessage]
    ) -> list[RecipientResult]:
        ids = [m.public_id for m in messages]
        if answer.status == 200:
            try:
                items = _mapping(json.loads(answer.body)).get("messages")
            except ValueError:
                items = None
            if not isinstance(items, list):  # accepted, but we cannot read which: settle
                return [RecipientResult(i, Outcome.UNKNOWN, reason="unreadable 200") for i in ids]
            by_id = {
                str(item.get("messageId")): item for item in items if isinstance(item, Mapping)
            }
            results = []
            for public_id in ids:
                item = by_id.get(public_id)
                if item is None:
                    results.append(
                        RecipientResult(public_id, Outcome.UNKNOWN, reason="not in the answer")
                    )
                    continue
                status = _mapping(item.get("status"))
                if status.get("groupName") == "REJECTED":
                    results.append(
                        RecipientResult(public_id, Outcome.REJECTED, reason=str(status.get("name")))
                    )
                else:
                    results.append(RecipientResult(public_id, Outcome.ACCEPTED, public_id))
            return results
        reason = error_reason(answer)
        retry_after = _retry_after(answer)
        if answer.status == 429:
            outcome = Outcome.RETRY
        elif answer.status >= 500:
            outcome = Outcome.UNKNOWN
        else:
            outcome = Outcome.FAILED
        return [RecipientResult(i, outcome, reason=reason, retry_after=retry_after) for i in ids]

    def lookup(self, public_ids: Sequence[str], config: SendConfig) -> list[HttpRequest]:
        # The logs take at most 2048 characters of ids (§6): 66 of ours, while a request
        # sends 100; a lost answer to a full request leaves 100 to ask about.
        requests: list[HttpRequest] = []
        chunk: list[str] = []
        size = 0
        for public_id in public_ids:
            if len(public_id) > LOGS_IDS_CHARS:
                raise ValueError(f"an id of {len(public_id)} characters exceeds the logs' limit")
            if chunk and size + 1 + len(public_id) > LOGS_IDS_CHARS:
                requests.append(self._logs(chunk, config))
                chunk, size = [], 0
            size += len(public_id) + (1 if chunk else 0)
            chunk.append(public_id)
        if chunk:
            requests.append(self._logs(chunk, config))
        return requests

    @staticmethod
    def _logs(public_ids: Sequence[str], config: SendConfig) -> HttpRequest:
        url = (
            f"{config.api_url.rstrip('/')}{LOGS}?messageId={quote(','.join(public_ids), safe=',')}"
            f"&limit={min(1000, max(1, len(public_ids)))}"
        )
        return HttpRequest("GET", url, _headers(config))

    def found(self, answer: HttpAnswer) -> dict[str, str]:
        if answer.status != 200:
            raise ValueError(f"logs answered HTTP {answer.status}: {error_reason(answer)}")
        results = _mapping(json.loads(answer.body)).get("results")
        if not isinstance(results, list):
            raise ValueError("logs answer without results")
        return {
            str(r["messageId"]): str(r["messageId"])
            for r in results
            if isinstance(r, Mapping) and r.get("messageId")
        }


def error_reason(answer: HttpAnswer) -> str:
    """Return Infobip's words for an error answer, from either envelope (§2.2, §1.3)."""
    try:
        body = _mapping(json.loads(answer.body))
    except ValueError:
        return f"HTTP {answer.status}"
    if "errorCode" in body:  # ApiError: {"errorCode", "description", "violations"}
        words = f"{body.get('errorCode')}: {body.get('description')}"
        violations = [
            f"{v.get('property')}: {v.get('violation')}"
            for v in body.get("violations") or []
            if isinstance(v, Mapping)
        ]
        return words + (f" ({'; '.join(violations)})" if violations else "")
    exception = _mapping(_mapping(body.get("requestError")).get("serviceException"))
    if exception:
        return f"{exception.get('messageId')}: {exception.get('text')}"
    return f"HTTP {answer.status}"


def _headers(config: SendConfig) -> dict[str, str]:
    return {
        "Authorization": f"App {config.api_key}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }


def _sender(from_email: str) -> str:
    return from_email


def _retry_after(answer: HttpAnswer) -> float | None:
    value = answer.header("Retry-After")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
