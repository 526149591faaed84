"""A ``POST /messages`` body read into a :class:`SendRequest`, or every field's errors.

Syntax and limits are checked here, with no I/O: nothing is kept for a refused request. What a
provider cannot carry (``template_id``, ``attachments``, ...) is refused by name, as anymail's
``AnymailUnsupportedFeature`` does, rather than dropped silently.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, datetime

from emailhook.domain.addresses import InvalidAddressError, parse_address
from emailhook.domain.sending.fields import (
    Errors,
    read_address,
    read_flag,
    read_list,
    read_metadata,
    read_strings,
    read_text,
)
from emailhook.domain.sending.message import Attachment, Category, Recipient, SendRequest

#: recipients (messages) per request at most
MAX_RECIPIENTS = 1000
#: longest subject (Infobip's limit, the strictest of the sources)
MAX_SUBJECT = 1000
#: headers a sender may not set: the providers set them (Infobip's list, sending-infobip.md)
RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        "To",
        "Cc",
        "Bcc",
        "From",
        "Subject",
        "Content-Type",
        "DKIM-Signature",
        "Content-Transfer-Encoding",
        "Return-Path",
        "MIME-Version",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
    )
)
KNOWN_FIELDS = frozenset(
    {
        "from",
        "to",
        "reply_to",
        "subject",
        "text",
        "html",
        "template_id",
        "merge_global_data",
        "headers",
        "attachments",
        "tags",
        "metadata",
        "track_opens",
        "track_clicks",
        "send_at",
        "provider",
        "category",
    }
)
#: the fields of a recipient (an item of ``to``)
_RECIPIENT_FIELDS = frozenset({"email", "name", "merge_data", "metadata"})
#: features a provider may lack; each is a field of the request
FEATURES = frozenset(
    {"template_id", "attachments", "tags", "metadata", "headers", "track_opens", "track_clicks"}
)


class InvalidSendRequestError(ValueError):
    """A send request that cannot be accepted: ``errors`` maps each field to its problems."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = dict(errors)


def parse_send_request(
    body: object,
    *,
    providers: Mapping[str, frozenset[str]],
    default_provider: str | None,
    now: datetime,
) -> SendRequest:
    """Return the request ``body`` holds, or raise InvalidSendRequestError with every field's
    errors. ``providers`` maps each provider that can send to the features it carries."""
    errors = Errors()
    if not isinstance(body, dict):
        raise InvalidSendRequestError({"": ["the body must be a JSON object"]})
    for name in sorted(set(body) - KNOWN_FIELDS):
        errors.add(name, "unknown field")
    provider = _provider(body.get("provider"), providers, default_provider, errors)
    from_email = read_address(body.get("from"), "from", errors, required=True)
    reply_to = tuple(
        a
        for n, item in enumerate(read_list(body.get("reply_to"), "reply_to", errors))
        if (a := read_address(item, f"reply_to[{n}]", errors, required=True))
    )
    subject = read_text(body.get("subject"), "subject", errors, most=MAX_SUBJECT)
    text = read_text(body.get("text"), "text", errors)
    html = read_text(body.get("html"), "html", errors)
    template_id = read_text(body.get("template_id"), "template_id", errors)
    if template_id is None:
        if not (text or html):
            errors.add("text", "a message needs text, html or a template_id")
        if not subject:
            errors.add("subject", "required without a template_id")
    recipients = _recipients(body.get("to"), errors)
    request_metadata = read_metadata(body.get("metadata"), "metadata", errors)
    if provider is not None:
        lacking = providers[provider]
        for feature in sorted(FEATURES - lacking):
            if body.get(feature) not in (None, [], {}, False):
                errors.add(feature, f"the provider {provider} cannot carry it")
    category = body.get("category", Category.MARKETING.value)
    if category not in {c.value for c in Category}:
        errors.add("category", "must be marketing or transactional")
        category = Category.MARKETING.value
    request = SendRequest(
        from_email=from_email or "",
        to=recipients,
        provider=provider or "",
        subject=subject,
        text=text,
        html=html,
        template_id=template_id,
        reply_to=reply_to,
        headers=_headers(body.get("headers"), errors),
        attachments=_attachments(body.get("attachments"), errors),
        tags=tuple(
            t
            for n, t in enumerate(read_list(body.get("tags"), "tags", errors))
            if read_text(t, f"tags[{n}]", errors, most=255)
        ),
        metadata=request_metadata,
        merge_global_data=read_strings(body.get("merge_global_data"), "merge_global_data", errors),
        track_opens=read_flag(body.get("track_opens"), "track_opens", errors),
        track_clicks=read_flag(body.get("track_clicks"), "track_clicks", errors),
        send_at=_instant(body.get("send_at"), "send_at", errors, now),
        category=Category(category),
    )
    if errors.found:
        raise InvalidSendRequestError(errors.found)
    return request


def parse_recipients(value: object) -> tuple[Recipient, ...]:
    """Return the recipients of ``value`` (a body's ``to``: 1 to 1000 of them), or raise
    InvalidSendRequestError naming each bad one (``to[3].email``): a campaign's chunks are
    checked so, its message once."""
    errors = Errors()
    recipients = _recipients(value, errors)
    if errors.found:
        raise InvalidSendRequestError(errors.found)
    return recipients


def _provider(
    value: object,
    providers: Mapping[str, frozenset[str]],
    default: str | None,
    errors: Errors,
) -> str | None:
    name = value if value is not None else default
    if name is None:
        errors.add("provider", "no provider given and none configured (EMAILHOOK_SEND_PROVIDER)")
        return None
    if not isinstance(name, str) or name not in providers:
        known = ", ".join(sorted(providers)) or "none"
        errors.add("provider", f"unknown or not configured; can send: {known}")
        return None
    return name


def _recipients(value: object, errors: Errors) -> tuple[Recipient, ...]:
    if value is None:
        errors.add("to", "required: 1 to 1000 recipients")
        return ()
    if not isinstance(value, list) or not value:
        errors.add("to", "must be a list of 1 to 1000 recipients")
        return ()
    if len(value) > MAX_RECIPIENTS:
        errors.add("to", f"{len(value)} recipients; at most {MAX_RECIPIENTS}")
        return ()
    out: list[Recipient] = []
    for n, item in enumerate(value):
        where = f"to[{n}]"
        if isinstance(item, str):
            item = {"email": item}
        if not isinstance(item, dict):
            errors.add(where, "must be an object with an email")
            continue
        if not _RECIPIENT_FIELDS.issuperset(item):  # no set made for each of a million
            for name in sorted(set(item) - _RECIPIENT_FIELDS):
                errors.add(f"{where}.{name}", "unknown field")
        email = item.get("email")
        if not isinstance(email, str):
            errors.add(f"{where}.email", "required")
            continue
        try:
            address = parse_address(email.strip())
        except InvalidAddressError as error:
            errors.add(f"{where}.email", f"not an e-mail address: {error}")
            continue
        out.append(
            Recipient(
                address,
                read_text(item.get("name"), f"{where}.name", errors, most=255),
                read_strings(item.get("merge_data"), f"{where}.merge_data", errors),
                read_metadata(item.get("metadata"), f"{where}.metadata", errors),
            )
        )
    return tuple(out)


def _headers(value: object, errors: Errors) -> dict[str, str]:
    headers = read_strings(value, "headers", errors)
    for name in headers:
        if name.lower() in RESERVED_HEADERS:
            errors.add(f"headers.{name}", "set by emailhook or the provider; cannot be given")
        elif not name or any(c in name for c in ": \r\n"):
            errors.add(f"headers.{name}", "not a header name")
    return headers


def _attachments(value: object, errors: Errors) -> tuple[Attachment, ...]:
    out: list[Attachment] = []
    for n, item in enumerate(read_list(value, "attachments", errors)):
        where = f"attachments[{n}]"
        if not isinstance(item, dict):
            errors.add(where, "must be an object")
            continue
        filename, content = item.get("filename"), item.get("content")
        if not isinstance(filename, str) or not filename:
            errors.add(f"{where}.filename", "required")
            continue
        if not isinstance(content, str):
            errors.add(f"{where}.content", "required (base64)")
            continue
        try:
            base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            errors.add(f"{where}.content", "not base64")
            continue
        kind = item.get("content_type") or "application/octet-stream"
        out.append(Attachment(filename, content, str(kind)))
    return tuple(out)


def _instant(value: object, where: str, errors: Errors, now: datetime) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add(where, "must be an ISO 8601 instant with its offset")
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        errors.add(where, "must be an ISO 8601 instant with its offset")
        return None
    if when.tzinfo is None:
        errors.add(where, "must carry its offset (e.g. Z)")
        return None
    when = when.astimezone(UTC)
    return when if when > now else None
