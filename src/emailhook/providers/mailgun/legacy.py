"""Mailgun's legacy (pre-2018) events: form fields into the one vocabulary.

The legacy form has no event id: the key is a digest of message, recipient, event, time and
code. User-variables are merged among Mailgun's own fields; when the original headers are sent
(``message-headers``), ``X-Mailgun-Variables`` holds them unmixed and is read instead.
"""

from __future__ import annotations

import json
from typing import Any

from emailhook.domain.events import EmailEvent
from emailhook.domain.instants import from_epoch_seconds
from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.providers._fields import address, provider_event
from emailhook.providers.base import event_key
from emailhook.providers.mailgun.forms import Form, first, last

#: legacy ``event`` -> EventType
LEGACY_EVENT_TYPES: dict[str, EventType] = {
    "delivered": EventType.DELIVERED,
    "dropped": EventType.REJECTED,
    "bounced": EventType.BOUNCED,
    "complained": EventType.COMPLAINED,
    "unsubscribed": EventType.UNSUBSCRIBED,
    "opened": EventType.OPENED,
    "clicked": EventType.CLICKED,
}

#: Mailgun's own 6xx codes: "not delivering to a previously bounced address" (605), "... to a
#: user who marked your messages as spam" (607): already suppressed, not new bounces
SUPPRESSED_CODES: dict[str, RejectReason] = {
    "605": RejectReason.BOUNCED,
    "607": RejectReason.SPAM,
}

#: other drop codes -> RejectReason (499: could not connect to the MX, sample dropped_timed_out)
DROP_CODES: dict[str, RejectReason] = {"499": RejectReason.TIMED_OUT}

#: Mailgun's own legacy fields: anything else in the form is a user-variable
KNOWN_FIELDS = frozenset(
    {
        "event", "recipient", "domain", "ip", "country", "region", "city", "user-agent",
        "device-type", "client-type", "client-name", "client-os", "campaign-id",
        "campaign-name", "tag", "mailing-list", "timestamp", "token", "signature",
        "body-plain", "h", "message-id", "Message-Id", "message-headers", "X-Mailgun-Sid",
        "X-Mailgun-Tag", "code", "description", "reason", "error", "notification",
        "attachment-count", "url",
    }
)  # fmt: skip


def _bounce_class(code: str | None) -> BounceClass:
    # "550" or an RFC 3463 "5.1.1" (sample alt_smtp_code): the first digit says how final
    leading = (code or "").strip()[:1]
    return {"5": BounceClass.HARD, "4": BounceClass.SOFT}.get(leading, BounceClass.UNDETERMINED)


def _classify(form: Form) -> tuple[EventType, BounceClass | None, RejectReason | None]:
    event_type = LEGACY_EVENT_TYPES.get(first(form, "event") or "", EventType.UNKNOWN)
    code = (first(form, "code") or "").strip()
    if event_type is EventType.REJECTED:
        reason = SUPPRESSED_CODES.get(code) or DROP_CODES.get(code) or RejectReason.OTHER
        return event_type, None, reason
    if event_type is EventType.BOUNCED:
        return event_type, _bounce_class(code), None
    return event_type, None, None


def variables(form: Form) -> dict[str, Any]:
    """Return the sender's user-variables of a legacy form."""
    headers_text = first(form, "message-headers")
    if headers_text:
        try:
            headers = json.loads(headers_text)
        except ValueError:
            headers = []
        merged: dict[str, Any] = {}
        for pair in headers if isinstance(headers, list) else []:
            if isinstance(pair, list) and len(pair) == 2 and pair[0] == "X-Mailgun-Variables":
                try:
                    value = json.loads(pair[1])
                except (TypeError, ValueError):
                    continue
                merged.update(value if isinstance(value, dict) else {})
        return merged
    return {name: values[-1] for name, values in form.items() if name not in KNOWN_FIELDS}


def event(form: Form) -> EmailEvent:
    """Return the one event of a legacy form post."""
    status = first(form, "event") or ""
    event_type, bounce_class, reject_reason = _classify(form)
    email = address(first(form, "recipient"))
    raw_id = first(form, "Message-Id") or first(form, "message-id")
    message_id = f"<{raw_id}>" if raw_id and not raw_id.startswith("<") else raw_id
    stamp = last(form, "timestamp")
    code = first(form, "code")
    return provider_event(
        "mailgun",
        key=event_key("mailgun", message_id, email, status, stamp, code),
        event_type=event_type,
        status=status,
        email=email,
        message_id=message_id,
        event_at=from_epoch_seconds(stamp),
        raw={name: values[0] if len(values) == 1 else values for name, values in form.items()},
        metadata=variables(form),
        bounce_class=bounce_class,
        reject_reason=reject_reason,
        url=first(form, "url"),
        error_description=first(form, "error") or first(form, "notification"),
        status_description=first(form, "description"),
    )
