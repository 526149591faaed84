"""Mailgun's send side: ``POST /v3/<domain>/messages`` (form fields), HTTP Basic ``api:<key>``.

Sources (``shared/docs/sending-anchors.md`` §2, and Mailgun's messages API and batch-sending
pages as the fake in ``tests/support/fake_senders/mailgun.py`` reads them): url-encoded fields,
multipart when files are attached (``attachment``); ``h:`` headers, ``o:`` options (``o:tag``,
``o:tracking-opens``, ``o:tracking-clicks``), ``v:`` custom data, echoed in every webhook event
as ``user-variables``; batch sending to at most 1,000 recipients a call, each getting its own
copy, with ``%recipient.<name>%`` filled from ``recipient-variables`` (an object by address).
The answer is ``200 {"id": "<...>", "message": "Queued. Thank you."}``, one id for the call;
recipients are never refused at send time (a suppressed one gets a ``failed`` event later).
Mailgun's 429 and its headers are not in the sources: a 429 is throttling, ``Retry-After``
honoured if present. No idempotency key and no lookup by our id: an ambiguous failure is never
resent (``NONE``).

Batch sending, not one call per message: 1,000 messages cost one call rather than 1,000 (the
pace of a Mailgun account is counted in calls), and nothing per recipient is lost: our id and
each message's metadata values travel in ``recipient-variables``, every ``v:<name>`` set to
``%recipient.<name>%``, so each copy's events echo its own. Only messages that are the same
but for the recipient and the metadata *values* share a call (:meth:`MailgunSend.request_key`:
their content and their metadata *names*, so no copy gets a blank value it never had), and the
dispatcher never puts two messages to one address in a call (recipient-variables are keyed by
address). The price: a call that fails ambiguously leaves its whole batch uncertain.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Hashable, Sequence
from typing import Any
from urllib.parse import urlencode

from emailhook.domain.sending.message import Attachment, OutgoingMessage
from emailhook.domain.sending.retries import Resolution
from emailhook.providers.base import ProviderSetting, ProviderValues
from emailhook.providers.sending import (
    HttpAnswer,
    HttpRequest,
    Outcome,
    RecipientResult,
    SendConfig,
)

NAME = "mailgun"
API_URL = "https://api.mailgun.net"
#: our id in the custom data (``v:``): Mailgun's events echo it in ``user-variables``
EMAILHOOK_ID = "emailhook_id"
#: tags a message at most (Mailgun's ``o:tag`` limit)
MAX_TAGS = 3

#: the send settings, ``EMAILHOOK_MAILGUN_<NAME>`` (part of the provider's settings)
SEND_SETTINGS = (
    ProviderSetting("api_key", "secrets", "private API key(s) that send; the first is used"),
    ProviderSetting("domain", "text", "the sending domain (``/v3/<domain>/messages``)"),
    ProviderSetting(
        "api_url", "text", "the send API's base URL (EU: https://api.eu.mailgun.net)", API_URL
    ),
    ProviderSetting("send_rate", "number", "send requests a second, shared by every worker", 10.0),
)

Fields = list[tuple[str, str]]


class MailgunSend:
    """Mailgun batch sending (``SendSide``)."""

    name = NAME
    max_batch = 1000
    resolution = Resolution.NONE
    features = frozenset(
        {"attachments", "tags", "metadata", "headers", "track_opens", "track_clicks"}
    )

    @staticmethod
    def configure(values: ProviderValues) -> tuple[SendConfig, float | None] | None:
        """Return the send config and rate from the provider's settings, or None (no key or
        no domain)."""
        keys = values.get("api_key") or ()
        domain = values.get("domain")
        if not keys or not domain:
            return None
        config = SendConfig(values.get("api_url") or API_URL, keys[0], extra={"domain": domain})
        return config, values.get("send_rate")

    def request_key(self, message: OutgoingMessage) -> Hashable:
        """Return what the messages of one batch share: everything but the recipient and the
        metadata values."""
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
            tuple(sorted(str(k) for k in message.metadata)),
        )

    def check(self, message: OutgoingMessage) -> str | None:
        if len(message.tags) > MAX_TAGS:
            return f"Mailgun takes at most {MAX_TAGS} tags a message"
        odd = [str(k) for k in message.metadata if "%" in str(k) or not str(k).strip()]
        if odd:
            return f"Mailgun's metadata names may not be blank or hold '%': {', '.join(odd)}"
        return None

    def prepare(self, messages: Sequence[OutgoingMessage], config: SendConfig) -> HttpRequest:
        first = messages[0]
        fields = _fields(messages)
        url = f"{config.api_url.rstrip('/')}/v3/{config.extra['domain']}/messages"
        token = base64.b64encode(f"api:{config.api_key}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        if first.attachments:
            body, content_type = _multipart(fields, first.attachments)
        else:
            body = urlencode(fields).encode()
            content_type = "application/x-www-form-urlencoded"
        return HttpRequest("POST", url, {**headers, "Content-Type": content_type}, body)

    def parse(
        self, answer: HttpAnswer, messages: Sequence[OutgoingMessage]
    ) -> list[RecipientResult]:
        ids = [m.public_id for m in messages]
        if answer.status == 200:
            message_id = _json(answer.body).get("id")
            if not isinstance(message_id, str) or not message_id:
                return [RecipientResult(i, Outcome.UNKNOWN, reason="unreadable 200") for i in ids]
            return [RecipientResult(i, Outcome.ACCEPTED, message_id) for i in ids]
        reason = _reason(answer)
        if answer.status == 429:
            wait = _seconds(answer.header("Retry-After"))
            return [RecipientResult(i, Outcome.RETRY, reason=reason, retry_after=wait) for i in ids]
        if answer.status >= 500:
            return [RecipientResult(i, Outcome.UNKNOWN, reason=reason) for i in ids]
        return [RecipientResult(i, Outcome.FAILED, reason=reason) for i in ids]

    def lookup(self, public_ids: Sequence[str], config: SendConfig) -> list[HttpRequest]:
        raise NotImplementedError("Mailgun cannot be asked by our id (Resolution.NONE)")

    def found(self, answer: HttpAnswer) -> dict[str, str]:
        raise NotImplementedError("Mailgun cannot be asked by our id (Resolution.NONE)")


def _fields(messages: Sequence[OutgoingMessage]) -> Fields:
    """Return the form fields of one batch (messages that share :meth:`request_key`)."""
    first = messages[0]
    fields: Fields = [("from", first.from_email)]
    fields += [("to", _address(m)) for m in messages]
    fields.append(("subject", first.subject or ""))
    if first.text is not None:
        fields.append(("text", first.text))
    if first.html is not None:
        fields.append(("html", first.html))
    if first.reply_to:
        fields.append(("h:Reply-To", ", ".join(first.reply_to)))
    fields += [(f"h:{name}", value) for name, value in first.headers.items()]
    fields += [("o:tag", tag) for tag in first.tags]
    if first.track_opens is not None:
        fields.append(("o:tracking-opens", "yes" if first.track_opens else "no"))
    if first.track_clicks is not None:
        fields.append(("o:tracking-clicks", "yes" if first.track_clicks else "no"))
    names = [str(k) for k in first.metadata if str(k) != EMAILHOOK_ID] + [EMAILHOOK_ID]
    fields += [(f"v:{name}", f"%recipient.{name}%") for name in names]
    variables = {
        m.to.email: {
            **{str(k): _text(v) for k, v in m.metadata.items()},
            EMAILHOOK_ID: m.public_id,
        }
        for m in messages
    }
    fields.append(("recipient-variables", json.dumps(variables, ensure_ascii=False)))
    return fields


def _address(message: OutgoingMessage) -> str:
    to = message.to
    if not to.name:
        return to.email
    name = to.name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{name}" <{to.email}>'


def _multipart(fields: Fields, attachments: Sequence[Attachment]) -> tuple[bytes, str]:
    """Return a multipart/form-data body of ``fields`` and the files, and its Content-Type."""
    files = [(a, _decoded(a)) for a in attachments]
    # the boundary is a digest of the content: it cannot occur in it, and a body is reproducible
    digest = hashlib.sha256(json.dumps(fields).encode())
    for _, data in files:
        digest.update(data)
    boundary = "emailhook-" + digest.hexdigest()[:40]
    chunks: list[bytes] = []
    for name, value in fields:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n".encode()
            + value.encode()
            + b"\r\n"
        )
    for attachment, data in files:
        filename = attachment.filename.replace("\\", "\\\\").replace('"', '\\"')
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="attachment"; '
            f'filename="{filename}"\r\nContent-Type: {attachment.content_type}\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def _decoded(attachment: Attachment) -> bytes:
    try:
        return base64.b64decode(attachment.content, validate=True)
    except (binascii.Error, ValueError) as error:  # validated on accept: a broken outbox row
        raise ValueError(f"attachment {attachment.filename!r} is not base64") from error


def _digest(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _reason(answer: HttpAnswer) -> str:
    message = _json(answer.body).get("message")
    if isinstance(message, str) and message:
        return f"HTTP {answer.status}: {message}"
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
