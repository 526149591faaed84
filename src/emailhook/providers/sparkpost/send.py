"""SparkPost's send side: ``POST /api/v1/transmissions`` (JSON), ``Authorization: <key>``.

Sources (``shared/docs/sending-anchors.md`` §2, and SparkPost's transmissions API as the fake
in ``tests/support/fake_senders/sparkpost.py`` reads it): one transmission holds any number of
recipients (no hard cap; SparkPost recommends thousands a call) sharing one content and one set
of options; each recipient has its own ``metadata`` (echoed in every event's ``rcpt_meta``,
where our id ``emailhook_id`` joins the event to its message), ``tags`` (``rcpt_tags``) and
``substitution_data``. The answer ``{"results": {"id", "total_accepted_recipients",
"total_rejected_recipients"}}`` counts the refused recipients without naming them; the
transmission's ``id`` is every event's ``transmission_id`` (the join's fallback). A sending
limit reached is HTTP 420 (nothing sent: sent again later); errors are ``{"errors":
[{"message", "code", "description"}]}``. No idempotency key and no lookup by our id: an
ambiguous failure is never resent (``NONE``).

One transmission a request of up to 1,000 messages that share the content, headers and options
(:meth:`SparkPostSend.request_key`), each message a recipient: one call for a thousand, and an
ambiguous failure leaves at most a thousand uncertain. Since the answer only counts refusals,
a transmission whose recipients were all refused ends each ``rejected``; one where some were
refused ends each ``sent`` (SparkPost took the transmission) and the refused ones are known by
SparkPost's ``policy_rejection`` event for each, which joins its message by our id.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from email.utils import parseaddr
from typing import Any

from emailhook.domain.sending.message import Category, OutgoingMessage
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

NAME = "sparkpost"
TRANSMISSIONS = "/transmissions"
API_URL = "https://api.sparkpost.com/api/v1"
#: our id in each recipient's metadata: SparkPost's events echo it in ``rcpt_meta``
EMAILHOOK_ID = "emailhook_id"
#: SparkPost's limit on a recipient's tags
MAX_TAGS = 10
#: the status SparkPost answers when a sending limit is reached
LIMIT_REACHED = 420

#: the send settings, ``EMAILHOOK_SPARKPOST_<NAME>`` (part of the provider's settings)
SEND_SETTINGS = (
    ProviderSetting("api_key", "secrets", "API key(s) with Transmissions: Read/Write; first used"),
    ProviderSetting(
        "api_url",
        "text",
        "the API's base URL (EU: https://api.eu.sparkpost.com/api/v1)",
        API_URL,
    ),
    ProviderSetting("send_rate", "number", "send requests a second, shared by every worker", 10.0),
)


class SparkPostSend:
    """SparkPost transmissions, one recipient a message (``SendSide``)."""

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
        # what a transmission keeps for all its recipients
        return (
            message.from_email,
            message.subject,
            message.text,
            message.html,
            message.template_id,
            message.reply_to,
            tuple(message.headers.items()),
            message.attachments,
            message.track_opens,
            message.track_clicks,
            message.category,
        )

    def check(self, message: OutgoingMessage) -> str | None:
        if len(message.tags) > MAX_TAGS:
            return f"SparkPost takes at most {MAX_TAGS} tags a recipient"
        if message.template_id is not None:
            # a stored template holds the whole content (from, subject, headers, text, html):
            # a transmission naming one carries no other content
            given = [f for f in ("subject", "text", "html") if getattr(message, f) is not None]
            given += [f for f in ("reply_to", "attachments") if getattr(message, f)]
            if message.headers:
                given.append(f"headers ({', '.join(message.headers)})")
            if given:
                return (
                    "SparkPost takes the content from the stored template: "
                    f"{', '.join(given)} cannot go with template_id"
                )
        return None

    def prepare(self, messages: Sequence[OutgoingMessage], config: SendConfig) -> HttpRequest:
        first = messages[0]
        body: dict[str, Any] = {
            "recipients": [_recipient(m) for m in messages],
            "content": _content(first),
        }
        options: dict[str, Any] = {}
        if first.track_opens is not None:
            options["open_tracking"] = first.track_opens
        if first.track_clicks is not None:
            options["click_tracking"] = first.track_clicks
        if first.category is Category.TRANSACTIONAL:
            options["transactional"] = True  # SparkPost's own unsubscribes do not block it
        if options:
            body["options"] = options
        return HttpRequest(
            "POST",
            config.api_url.rstrip("/") + TRANSMISSIONS,
            {
                "Authorization": config.api_key,
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
        )

    def parse(
        self, answer: HttpAnswer, messages: Sequence[OutgoingMessage]
    ) -> list[RecipientResult]:
        ids = [m.public_id for m in messages]
        if answer.status == 200:
            return _results(_json(answer.body).get("results"), ids)
        reason = _reason(answer)
        if answer.status in (429, LIMIT_REACHED):
            wait = _seconds(answer.header("Retry-After"))
            return [RecipientResult(i, Outcome.RETRY, reason=reason, retry_after=wait) for i in ids]
        if answer.status >= 500:
            return [RecipientResult(i, Outcome.UNKNOWN, reason=reason) for i in ids]
        return [RecipientResult(i, Outcome.FAILED, reason=reason) for i in ids]

    def lookup(self, public_ids: Sequence[str], config: SendConfig) -> list[HttpRequest]:
        raise NotImplementedError("SparkPost cannot be asked by our id (Resolution.NONE)")

    def found(self, answer: HttpAnswer) -> dict[str, str]:
        raise NotImplementedError("SparkPost cannot be asked by our id (Resolution.NONE)")


def _recipient(message: OutgoingMessage) -> dict[str, Any]:
    address = {"email": message.to.email}
    if message.to.name:
        address["name"] = message.to.name
    recipient: dict[str, Any] = {
        "address": address,
        "metadata": {**{str(k): v for k, v in message.metadata.items()},
                     EMAILHOOK_ID: message.public_id},
    }  # fmt: skip
    if message.tags:
        recipient["tags"] = list(message.tags)
    if message.merge_data:
        recipient["substitution_data"] = dict(message.merge_data)
    return recipient


def _content(message: OutgoingMessage) -> dict[str, Any]:
    if message.template_id is not None:
        return {"template_id": message.template_id}
    name, email = parseaddr(message.from_email)
    sender: dict[str, str] = {"email": email or message.from_email}
    if name:
        sender["name"] = name
    content: dict[str, Any] = {"from": sender, "subject": message.subject or ""}
    if message.text is not None:
        content["text"] = message.text
    if message.html is not None:
        content["html"] = message.html
    if message.reply_to:
        content["reply_to"] = ", ".join(message.reply_to)
    if message.headers:
        content["headers"] = dict(message.headers)
    if message.attachments:
        content["attachments"] = [
            {"name": a.filename, "type": a.content_type, "data": a.content}
            for a in message.attachments
        ]
    return content


def _results(results: object, ids: list[str]) -> list[RecipientResult]:
    """Return each message's result from the answer's counts (SparkPost names no recipient)."""
    if not isinstance(results, dict) or not isinstance(results.get("id"), str | int):
        return [RecipientResult(i, Outcome.UNKNOWN, reason="unreadable 200") for i in ids]
    transmission = str(results["id"])
    rejected = results.get("total_rejected_recipients", 0)
    accepted = results.get("total_accepted_recipients", len(ids))
    if not isinstance(rejected, int) or not isinstance(accepted, int):
        return [RecipientResult(i, Outcome.UNKNOWN, reason="unreadable 200") for i in ids]
    if rejected >= len(ids) and accepted == 0:
        reason = f"SparkPost refused the recipient (transmission {transmission})"
        return [RecipientResult(i, Outcome.REJECTED, reason=reason) for i in ids]
    return [RecipientResult(i, Outcome.ACCEPTED, transmission) for i in ids]


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _reason(answer: HttpAnswer) -> str:
    errors = _json(answer.body).get("errors")
    if isinstance(errors, list) and errors:
        words = "; ".join(
            " ".join(
                str(part)
                for part in (
                    f"{e['code']}:" if e.get("code") else None,
                    e.get("message"),
                    f"({e['description']})" if e.get("description") else None,
                )
                if part
            )
            for e in errors
            if isinstance(e, dict)
        )
        return f"HTTP {answer.status}: {words}"
    return f"HTTP {answer.status}"


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None
