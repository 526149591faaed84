"""The bodies of Amazon SES's ``SendEmail`` and ``SendBulkEmail`` (API v2, REST-JSON) for our
messages, field by field as botocore's model ``sesv2/2019-09-27/service-2.json`` has them: our
id as the ``emailhook_id`` message tag, our metadata in an ``X-Metadata`` JSON header (see
``send.py`` for why), addresses in ASCII (RFC 2047 display names)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from email.utils import formataddr, parseaddr
from typing import Any

from emailhook.domain.sending.message import OutgoingMessage
from emailhook.providers.sending import SendConfig

#: our id as a message tag: SES echoes it in every event's ``mail.tags``
EMAILHOOK_ID = "emailhook_id"
#: the header our metadata travels in (JSON), as anymail sends it
METADATA_HEADER = "X-Metadata"


def send_email_body(message: OutgoingMessage, config: SendConfig) -> dict[str, Any]:
    simple: dict[str, Any] = {
        "Subject": {"Data": message.subject or "", "Charset": "UTF-8"},
        "Body": {},
    }
    if message.text is not None:
        simple["Body"]["Text"] = {"Data": message.text, "Charset": "UTF-8"}
    if message.html is not None:
        simple["Body"]["Html"] = {"Data": message.html, "Charset": "UTF-8"}
    headers = message_headers(message)
    if headers:
        simple["Headers"] = headers
    if message.attachments:
        simple["Attachments"] = _attachments(message)
    body: dict[str, Any] = {
        "FromEmailAddress": _encoded(message.from_email),
        "Destination": {"ToAddresses": [_recipient(message)]},
        "Content": {"Simple": simple},
        "EmailTags": [{"Name": EMAILHOOK_ID, "Value": message.public_id}],
    }
    return _common(body, message, config)


def send_bulk_body(messages: Sequence[OutgoingMessage], config: SendConfig) -> dict[str, Any]:
    first = messages[0]
    template_id = first.template_id or ""
    template: dict[str, Any] = {
        "TemplateArn" if template_id.startswith("arn:") else "TemplateName": template_id,
        "TemplateData": "{}",  # the request's global data is merged into each entry's
    }
    if first.attachments:
        template["Attachments"] = _attachments(first)
    entries = []
    for message in messages:
        entry: dict[str, Any] = {
            "Destination": {"ToAddresses": [_recipient(message)]},
            "ReplacementTags": [{"Name": EMAILHOOK_ID, "Value": message.public_id}],
            "ReplacementEmailContent": {
                "ReplacementTemplate": {
                    "ReplacementTemplateData": json.dumps(
                        dict(message.merge_data), ensure_ascii=False
                    )
                }
            },
        }
        headers = message_headers(message)
        if headers:
            entry["ReplacementHeaders"] = headers
        entries.append(entry)
    body: dict[str, Any] = {
        "FromEmailAddress": _encoded(first.from_email),
        "DefaultContent": {"Template": template},
        "BulkEmailEntries": entries,
    }
    return _common(body, first, config)


def _common(body: dict[str, Any], message: OutgoingMessage, config: SendConfig) -> dict[str, Any]:
    """Add what SendEmail and SendBulkEmail share: reply-to, configuration set, tracking."""
    if message.reply_to:
        body["ReplyToAddresses"] = [_encoded(a) for a in message.reply_to]
    if config.extra.get("configuration_set"):
        body["ConfigurationSetName"] = config.extra["configuration_set"]
    tracking: dict[str, str] = {}
    if message.track_opens is not None:
        tracking["OpenTrackingEnabled"] = "ENABLED" if message.track_opens else "DISABLED"
    if message.track_clicks is not None:
        tracking["ClickTrackingEnabled"] = "ENABLED" if message.track_clicks else "DISABLED"
    if tracking:
        body["ConfigurationOverrides"] = {"Tracking": tracking}
    return body


def message_headers(message: OutgoingMessage) -> list[dict[str, str]]:
    headers = [{"Name": k, "Value": v} for k, v in message.headers.items()]
    if message.metadata:
        # ASCII JSON: SES's header values are printable ASCII
        value = json.dumps(dict(message.metadata), separators=(",", ":"), ensure_ascii=True)
        headers.append({"Name": METADATA_HEADER, "Value": value})
    return headers


def _attachments(message: OutgoingMessage) -> list[dict[str, str]]:
    # RawContent is a blob: base64 on the wire, as the API took it
    return [
        {"RawContent": a.content, "FileName": a.filename, "ContentType": a.content_type}
        for a in message.attachments
    ]


def _recipient(message: OutgoingMessage) -> str:
    return formataddr((message.to.name or "", message.to.email), charset="utf-8")


def _encoded(address: str) -> str:
    """Return ``address`` with a non-ASCII display name as an RFC 2047 encoded word: SES
    takes addresses in ASCII only."""
    name, email = parseaddr(address)
    if not email or name.isascii():
        return address
    return formataddr((name, email), charset="utf-8")
