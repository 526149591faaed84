"""Shared reading helpers of the provider modules: JSON bodies, text fields, addresses, and
one builder of :class:`EmailEvent` so that every module fills the same fields the same way.

Pure code: no framework. Added by branch prov2 (SparkPost, Mailjet, Mandrill, Brevo, Postal,
MailerSend, Unisender Go).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from emailhook.domain.callback_data import callback_fields
from emailhook.domain.events import EmailEvent, EventKind
from emailhook.domain.vocabulary import DELIVERY_TYPES, BounceClass, EventType, RejectReason
from emailhook.providers.base import UnreadableBodyError

EMPTY: Mapping[str, Any] = {}

#: event types that carry a bounce class: how final a refusal or a delay is
BOUNCE_CLASS_TYPES = frozenset(
    {
        EventType.BOUNCED,
        EventType.REJECTED,
        EventType.FAILED,
        EventType.DEFERRED,
        EventType.AUTORESPONDED,
    }
)
#: event types that carry a reject reason (a deferral rejects nothing; a complaint or an
#: unsubscribe is told by its event type)
REJECT_REASON_TYPES = frozenset({EventType.BOUNCED, EventType.REJECTED, EventType.FAILED})


def load_json(body: bytes, provider: str) -> object:
    """Return the decoded JSON body (orjson keeps big integers exact), or raise
    UnreadableBodyError naming the provider."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise UnreadableBodyError(f"{provider} body is not JSON: {error}") from None


def mapping(value: object) -> Mapping[str, Any]:
    """Return ``value`` if it is a JSON object, else an empty mapping (Tolerant Reader)."""
    return value if isinstance(value, Mapping) else EMPTY


def text(value: object) -> str | None:
    """Return a scalar as stripped text (ints as digits, never through a float), '' as None."""
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    stripped = str(value).strip()
    return stripped or None


def address(value: object) -> str | None:
    """Return a recipient address stripped and lower-cased, or None."""
    found = text(value)
    return found.lower() if found else None


def kind_of(event_type: EventType) -> EventKind:
    """Return whether an event type is about delivery or about what the recipient did."""
    return EventKind.DELIVERY_REPORT if event_type in DELIVERY_TYPES else EventKind.TRACKING


def as_dict(item: Mapping[str, Any]) -> dict[str, Any]:
    """Return an item as a plain dict for ``EmailEvent.raw``."""
    return item if type(item) is dict else dict(item)


def metadata_fields(value: object) -> dict[str, Any]:
    """Return ``callback_fields`` of sender metadata: an object, or JSON text ('' is none)."""
    if isinstance(value, str) and not value.strip():
        value = None
    return callback_fields(value)


def provider_event(
    provider: str,
    *,
    key: str,
    event_type: EventType,
    status: str | None,
    email: str | None,
    message_id: str | None,
    event_at: datetime | None,
    raw: Mapping[str, Any],
    metadata: object = None,
    provider_event_id: str | None = None,
    bounce_class: BounceClass | None = None,
    reject_reason: RejectReason | None = None,
    url: str | None = None,
    error_description: str | None = None,
    status_description: str | None = None,
    sent_at: datetime | None = None,
    bulk_id: str | None = None,
) -> EmailEvent:
    """Return one normalized event with the fields every provider module fills; a bounce
    class or reject reason read for an event type that has none is dropped (a Unisender
    "spam" complaint carries ``err_spam_rejected``: spam_event.json)."""
    return EmailEvent(
        event_key=key,
        kind=kind_of(event_type),
        status=status,
        email=email,
        message_id=message_id,
        bulk_id=bulk_id,
        provider_event_id=provider_event_id,
        event_at=event_at,
        sent_at=sent_at,
        url=url,
        error_description=error_description,
        status_description=status_description,
        raw=as_dict(raw),
        provider=provider,
        event_type=event_type,
        bounce_class=bounce_class if event_type in BOUNCE_CLASS_TYPES else None,
        reject_reason=reject_reason if event_type in REJECT_REASON_TYPES else None,
        **metadata_fields(metadata),
    )


def unique_by_key(events: list[EmailEvent]) -> list[EmailEvent]:
    """Return ``events`` with each key once (the first stands): one batch may hold one
    happening twice (SparkPost's initial_open/open pair), and storage needs one row a key."""
    seen: dict[str, EmailEvent] = {}
    for event in events:
        seen.setdefault(event.event_key, event)
    return list(seen.values())
