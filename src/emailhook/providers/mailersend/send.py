"""MailerSend's send side: ``POST /v1/email`` (JSON), ``Authorization: Bearer <token>``.

Sources (``shared/docs/sending-anchors.md`` §2, anymail's ``backends/mailersend.py`` and
MailerSend's email API and help pages as the fake in ``tests/support/fake_senders/mailersend.py``
reads them): one e-mail a call (its ``to`` list is one message that every recipient sees), the
answer a 202 with ``X-Message-Id`` and either an empty body or JSON ``warnings``: a recipient
on MailerSend's suppression list is refused in the answer itself (``SOME_SUPPRESSED`` /
``ALL_SUPPRESSED``, with the reasons hard_bounced, spam_complaint, unsubscribed, blocklisted;
no ``X-Message-Id`` when all are). A 429 carries ``retry-after`` and ``x-ratelimit-*``; a 422
lists the fields it refuses. MailerSend has no metadata: its events echo only the ``tags``, and
``data.email.message.id``, the ``X-Message-Id`` the send answered; that id is recorded as the
provider's message id and joins each event to its message with the recipient's address.

``/v1/email``, one message a call, rather than ``/v1/bulk-email``: the bulk endpoint answers a
``bulk_email_id`` and no message id (those are fetched later from a status API), so its events
could not be joined to their messages until then, and it reports suppressed recipients only
later, where ``/v1/email`` refuses them at once (``REJECTED`` with MailerSend's reasons). The
price is one request a message, paced by ``send_rate``. No idempotency key and no lookup by
our id: an ambiguous failure is never resent (``NONE``).

Headers: MailerSend will not let a custom header override its own, and takes List-Unsubscribe
as ``list_unsubscribe`` (a URL or a mailto); with the URL it adds ``List-Unsubscribe-Post``
itself (RFC 8058), so ours is not sent. ``In-Reply-To`` has its own field as well.
"""

from __future__ import annotations

import json
import re
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

NAME = "mailersend"
EMAIL = "/email"
API_URL = "https://api.mailersend.com/v1"
#: MailerSend's limit on tags a message
MAX_TAGS = 5
#: the suppression warnings of a 202: the recipients they list were not sent to
SUPPRESSED = frozenset({"SOME_SUPPRESSED", "ALL_SUPPRESSED"})
#: what a custom header's name may hold (MailerSend: alphanumeric and hyphens)
HEADER_NAME = re.compile(r"[A-Za-z0-9-]+")
#: headers that travel in fields of their own
LIST_UNSUBSCRIBE = "list-unsubscribe"
LIST_UNSUBSCRIBE_POST = "list-unsubscribe-post"
IN_REPLY_TO = "in-reply-to"

#: the send settings, ``EMAILHOOK_MAILERSEND_<NAME>`` (part of the provider's settings)
SEND_SETTINGS = (
    ProviderSetting("api_token", "secrets", "API token(s) with email access; the first is used"),
    ProviderSetting("api_url", "text", "the send API's base URL", API_URL),
    ProviderSetting("send_rate", "number", "send requests a second, shared by every worker", 2.0),
)


class MailerSendSend:
    """MailerSend's email endpoint, one message a call (``SendSide``)."""

    name = NAME
    max_batch = 1
    resolution = Resolution.NONE
    #: no metadata: MailerSend has none (its events echo only tags)
    features = frozenset(
        {"template_id", "attachments", "tags", "headers", "track_opens", "track_clicks"}
    )

    @staticmethod
    def configure(values: ProviderValues) -> tuple[SendConfig, float | None] | None:
        """Return the send config and rate from the provider's settings, or None (no token)."""
        return keyed_config(values, "api_token", API_URL)

    def request_key(self, message: OutgoingMessage) -> Hashable:
        return None  # one message a call

    def check(self, message: OutgoingMessage) -> str | None:
        if message.metadata:
            return "MailerSend cannot carry metadata (its events echo only tags)"
        if len(message.tags) > MAX_TAGS:
            return f"MailerSend takes at most {MAX_TAGS} tags a message"
        if len(message.reply_to) > 1:
            return "MailerSend takes one reply_to address"
        if message.to.name and any(c in message.to.name for c in ";,"):
            return "MailerSend's recipient names may not contain ; or ,"
        if message.template_id is None and (not message.text or not message.html):
            return "MailerSend needs both text and html without a template_id"
        odd = [k for k in message.headers if not HEADER_NAME.fullmatch(k)]
        if odd:
            return f"MailerSend's header names are letters, digits and hyphens: {', '.join(odd)}"
        return None

    def prepare(self, messages: Sequence[OutgoingMessage], config: SendConfig) -> HttpRequest:
        if len(messages) != 1:
            raise ValueError("MailerSend sends one message a call")
        return HttpRequest(
            "POST",
            config.api_url.rstrip("/") + EMAIL,
            {
                "Authorization": f"Bearer {config.api_key}",
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            json.dumps(_email(messages[0]), separators=(",", ":"), ensure_ascii=False).encode(),
        )

    def parse(
        self, answer: HttpAnswer, messages: Sequence[OutgoingMessage]
    ) -> list[RecipientResult]:
        ids = [m.public_id for m in messages]
        if answer.status == 202:
            return _accepted(answer, messages)
        reason = _reason(answer)
        if answer.status == 429:
            wait = _seconds(answer.header("retry-after"))
            return [RecipientResult(i, Outcome.RETRY, reason=reason, retry_after=wait) for i in ids]
        if answer.status >= 500 or 200 <= answer.status < 300:
            return [RecipientResult(i, Outcome.UNKNOWN, reason=reason) for i in ids]
        return [RecipientResult(i, Outcome.FAILED, reason=reason) for i in ids]

    def lookup(self, public_ids: Sequence[str], config: SendConfig) -> list[HttpRequest]:
        raise NotImplementedError("MailerSend cannot be asked by our id (Resolution.NONE)")

    def found(self, answer: HttpAnswer) -> dict[str, str]:
        raise NotImplementedError("MailerSend cannot be asked by our id (Resolution.NONE)")


def _email(message: OutgoingMessage) -> dict[str, Any]:
    to: dict[str, str] = {"email": message.to.email}
    if message.to.name:
        to["name"] = message.to.name
    body: dict[str, Any] = {"from": _address(message.from_email), "to": [to]}
    if message.subject is not None:
        body["subject"] = message.subject
    if message.text is not None:
        body["text"] = message.text
    if message.html is not None:
        body["html"] = message.html
    if message.template_id is not None:
        body["template_id"] = message.template_id
        if message.merge_data:
            body["personalization"] = [
                {"email": message.to.email, "data": dict(message.merge_data)}
            ]
    if message.reply_to:
        body["reply_to"] = _address(message.reply_to[0])
    if message.tags:
        body["tags"] = list(message.tags)
    headers = []
    for name, value in message.headers.items():
        lowered = name.lower()
        if lowered == LIST_UNSUBSCRIBE:
            body["list_unsubscribe"] = value.strip().removeprefix("<").removesuffix(">")
        elif lowered == LIST_UNSUBSCRIBE_POST:
            continue  # MailerSend adds it to a URL's List-Unsubscribe itself
        elif lowered == IN_REPLY_TO:
            body["in_reply_to"] = value
        else:
            headers.append({"name": name, "value": value})
    if headers:
        body["headers"] = headers
    if message.attachments:
        body["attachments"] = [
            {"content": a.content, "filename": a.filename, "disposition": "attachment"}
            for a in message.attachments
        ]
    settings: dict[str, bool] = {}
    if message.track_opens is not None:
        settings["track_opens"] = message.track_opens
    if message.track_clicks is not None:
        settings["track_clicks"] = message.track_clicks
    if settings:
        body["settings"] = settings
    return body


def _accepted(answer: HttpAnswer, messages: Sequence[OutgoingMessage]) -> list[RecipientResult]:
    """Return the results of a 202: the recipients its suppression warnings list are refused
    with MailerSend's reasons; the others are accepted under ``X-Message-Id``."""
    message_id = (answer.header("X-Message-Id") or "").strip() or None
    refused: dict[str, tuple[str, RejectReason]] = {}
    unreadable = False
    if answer.body.strip():
        try:
            body = json.loads(answer.body)
        except ValueError:
            body = None
        warnings = body.get("warnings") if isinstance(body, dict) else None
        if not isinstance(warnings, list):
            unreadable = True
            warnings = []
        for warning in warnings:
            if not isinstance(warning, dict) or warning.get("type") not in SUPPRESSED:
                continue
            for item in warning.get("recipients") or ():
                if isinstance(item, dict) and isinstance(item.get("email"), str):
                    reasons = [str(r) for r in item.get("reasons") or ()]
                    words = ", ".join(reasons) or "suppressed"
                    refused[item["email"].lower()] = (
                        f"{warning['type']}: {words}",
                        _reject_reason(reasons),
                    )
    results = []
    for message in messages:
        why = refused.get(message.to.email.lower())
        if why is not None:
            results.append(
                RecipientResult(
                    message.public_id, Outcome.REJECTED, reason=why[0], reject_reason=why[1]
                )
            )
        elif message_id is not None:
            results.append(RecipientResult(message.public_id, Outcome.ACCEPTED, message_id))
        else:
            reason = "unreadable 202" if unreadable else "202 without X-Message-Id"
            results.append(RecipientResult(message.public_id, Outcome.UNKNOWN, reason=reason))
    return results


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
    if not isinstance(body, dict):
        return f"HTTP {answer.status}"
    words = str(body.get("message") or "").strip()
    errors = body.get("errors")
    if isinstance(errors, dict) and errors:
        listed = "; ".join(
            f"{field}: {' '.join(str(t) for t in texts) if isinstance(texts, list) else texts}"
            for field, texts in errors.items()
        )
        words = f"{words} ({listed})" if words else listed
    return f"HTTP {answer.status}: {words}" if words else f"HTTP {answer.status}"


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


#: a suppression warning's reasons in our vocabulary, the most severe first; ``blocklisted``
#: (the account's own blocklist, a sender's choice) suppresses nothing here
REASONS: tuple[tuple[str, RejectReason], ...] = (
    ("spam_complaint", RejectReason.SPAM),
    ("unsubscribed", RejectReason.UNSUBSCRIBED),
    ("hard_bounced", RejectReason.BOUNCED),
    ("blocklisted", RejectReason.BLOCKED),
)


def _reject_reason(reasons: list[str]) -> RejectReason:
    return next((ours for word, ours in REASONS if word in reasons), RejectReason.OTHER)
