"""SendGrid's send side: ``POST /v3/mail/send`` (JSON), ``Authorization: Bearer <key>``.

Sources (``shared/docs/sending-anchors.md`` §2 and SendGrid's documentation as the fake in
``tests/support/fake_senders/sendgrid.py`` reads it): one request holds up to 1,000
personalizations and 1,000 recipients; each message here is one personalization (its ``to``,
subject, headers and ``custom_args``), while the content, attachments, categories, reply-to and
tracking settings belong to the whole request, so only messages that share them share a
request (:meth:`SendGridSend.request_key`). The answer is a bare 202 with ``X-Message-Id``, the
same for every personalization of the request, and the prefix of every event's
``sg_message_id``; our id (``emailhook_id``) travels in each personalization's
``custom_args``, which SendGrid echoes as a top-level field of every event, where the receive
side joins the event to its message. A 429 carries ``X-RateLimit-Reset`` (epoch seconds); a
suppressed recipient is accepted and dropped later (a ``dropped`` event). SendGrid has no
idempotency key and no lookup by our id: an ambiguous failure is never resent (``NONE``).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from email.utils import parseaddr, parsedate_to_datetime
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

NAME = "sendgrid"
SEND = "/v3/mail/send"
API_URL = "https://api.sendgrid.com"
#: our id in each personalization's custom_args: every event echoes it
EMAILHOOK_ID = "emailhook_id"
#: SendGrid's limits: categories a message, characters a category
MAX_CATEGORIES = 10
CATEGORY_CHARS = 255
#: custom_args of one personalization, as JSON bytes, at most
CUSTOM_ARGS_BYTES = 10_000

#: the send settings, ``EMAILHOOK_SENDGRID_<NAME>`` (part of the provider's settings)
SEND_SETTINGS = (
    ProviderSetting("api_key", "secrets", "API key(s) with Mail Send access; the first is used"),
    ProviderSetting("api_url", "text", "the send API's base URL", API_URL),
    ProviderSetting("send_rate", "number", "send requests a second, shared by every worker", 10.0),
)


class SendGridSend:
    """SendGrid v3 mail/send, one personalization a message (``SendSide``)."""

    name = NAME
    max_batch = 1000
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
        return keyed_config(values, "api_key", API_URL)

    def request_key(self, message: OutgoingMessage) -> Hashable:
        # what SendGrid keeps for the whole request, not per personalization
        return (
            message.from_email,
            message.text,
            message.html,
            message.template_id,
            message.reply_to,
            message.attachments,
            message.tags,
            message.track_opens,
            message.track_clicks,
        )

    def check(self, message: OutgoingMessage) -> str | None:
        if len(message.tags) > MAX_CATEGORIES:
            return f"SendGrid takes at most {MAX_CATEGORIES} tags (categories) a message"
        long_tags = [t for t in message.tags if len(t) > CATEGORY_CHARS]
        if long_tags:
            return f"SendGrid's tags (categories) are at most {CATEGORY_CHARS} characters"
        size = len(json.dumps(_custom_args(message), ensure_ascii=False).encode())
        if size > CUSTOM_ARGS_BYTES:
            return f"SendGrid's custom args (our metadata) are at most {CUSTOM_ARGS_BYTES} bytes"
        return None

    def prepare(self, messages: Sequence[OutgoingMessage], config: SendConfig) -> HttpRequest:
        first = messages[0]
        body: dict[str, Any] = {
            "personalizations": [_personalization(m) for m in messages],
            "from": _address(first.from_email),
        }
        content = []
        if first.text is not None:
            content.append({"type": "text/plain", "value": first.text})
        if first.html is not None:
            content.append({"type": "text/html", "value": first.html})
        if content:
            body["content"] = content
        if first.template_id is not None:
            body["template_id"] = first.template_id
        replies = [_address(a) for a in first.reply_to]
        if len(replies) == 1:
            body["reply_to"] = replies[0]
        elif replies:
            body["reply_to_list"] = replies
        if first.attachments:
            body["attachments"] = [
                {"filename": a.filename, "content": a.content, "type": a.content_type}
                for a in first.attachments
            ]
        if first.tags:
            body["categories"] = list(first.tags)
        tracking: dict[str, Any] = {}
        if first.track_opens is not None:
            tracking["open_tracking"] = {"enable": first.track_opens}
        if first.track_clicks is not None:
            tracking["click_tracking"] = {
                "enable": first.track_clicks,
                "enable_text": first.track_clicks,
            }
        if tracking:
            body["tracking_settings"] = tracking
        return HttpRequest(
            "POST",
            config.api_url.rstrip("/") + SEND,
            {
                "Authorization": f"Bearer {config.api_key}",
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
        )

    def parse(
        self, answer: HttpAnswer, messages: Sequence[OutgoingMessage]
    ) -> list[RecipientResult]:
        ids = [m.public_id for m in messages]
        if answer.status == 202:
            message_id = (answer.header("X-Message-Id") or "").strip()
            if not message_id:
                reason = "202 without X-Message-Id"
                return [RecipientResult(i, Outcome.UNKNOWN, reason=reason) for i in ids]
            return [RecipientResult(i, Outcome.ACCEPTED, message_id) for i in ids]
        reason = _reason(answer)
        if answer.status == 429:
            wait = retry_after(answer)
            return [RecipientResult(i, Outcome.RETRY, reason=reason, retry_after=wait) for i in ids]
        if answer.status >= 500 or 200 <= answer.status < 300:
            # a 5xx may have been sent; a 200 is sandbox mode (validated, never sent): neither
            # is an acceptance to record
            return [RecipientResult(i, Outcome.UNKNOWN, reason=reason) for i in ids]
        return [RecipientResult(i, Outcome.FAILED, reason=reason) for i in ids]

    def lookup(self, public_ids: Sequence[str], config: SendConfig) -> list[HttpRequest]:
        raise NotImplementedError("SendGrid cannot be asked by our id (Resolution.NONE)")

    def found(self, answer: HttpAnswer) -> dict[str, str]:
        raise NotImplementedError("SendGrid cannot be asked by our id (Resolution.NONE)")


def retry_after(answer: HttpAnswer) -> float | None:
    """Return the seconds to wait a 429 names: ``Retry-After`` if given, else from the
    answer's ``Date`` to ``X-RateLimit-Reset`` (epoch seconds), else None."""
    given = answer.header("Retry-After")
    if given is not None:
        try:
            return max(0.0, float(given))
        except ValueError:
            pass
    reset = answer.header("X-RateLimit-Reset")
    date = answer.header("Date")
    if reset is None or date is None:
        return None
    try:
        now = parsedate_to_datetime(date).timestamp()
        return max(0.0, float(reset) - now)
    except (TypeError, ValueError):
        return None


def _personalization(message: OutgoingMessage) -> dict[str, Any]:
    person: dict[str, Any] = {"to": [_recipient(message)], "custom_args": _custom_args(message)}
    if message.subject is not None:
        person["subject"] = message.subject
    if message.headers:
        person["headers"] = dict(message.headers)
    if message.template_id is not None and message.merge_data:
        person["dynamic_template_data"] = dict(message.merge_data)
    return person


def _recipient(message: OutgoingMessage) -> dict[str, str]:
    to = {"email": message.to.email}
    if message.to.name:
        to["name"] = message.to.name
    return to


def _custom_args(message: OutgoingMessage) -> dict[str, str]:
    return {
        **{str(k): _text(v) for k, v in message.metadata.items()},
        EMAILHOOK_ID: message.public_id,
    }


def _address(value: str) -> dict[str, str]:
    name, email = parseaddr(value)
    found = {"email": email or value}
    if name:
        found["name"] = name
    return found


def _reason(answer: HttpAnswer) -> str:
    try:
        body = json.loads(answer.body)
    except ValueError:
        return f"HTTP {answer.status}"
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors:
        words = "; ".join(
            (f"{e.get('field')}: " if e.get("field") else "") + str(e.get("message"))
            for e in errors
            if isinstance(e, dict)
        )
        return f"HTTP {answer.status}: {words}"
    return f"HTTP {answer.status}"


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
