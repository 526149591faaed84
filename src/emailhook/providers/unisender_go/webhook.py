"""Unisender Go's transactional webhooks: ``{"auth", "events_by_user": [{"events": [...]}]}``
(up to 100 events) or, in "single event" mode, one flat event; read into the one vocabulary.

``auth`` is the MD5 of the body as sent with ``auth``'s own value replaced by the API key:
the replacement is done on the raw bytes, so no assumption about Unisender's JSON layout
(key order, spaces, ``\\u`` escapes) is made. Unisender Go checks a new URL with a GET.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from emailhook.domain.events import EmailEvent, ParsedBody, Shape
from emailhook.domain.instants import parse_instant
from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.providers._batch import parse_items
from emailhook.providers._fields import (
    load_json,
    mapping,
    plain_address,
    provider_event,
    text,
)
from emailhook.providers.base import (
    AuthenticationError,
    Provider,
    ProviderSetting,
    StoredRequest,
    UnreadableBodyError,
    WebhookRequest,
    any_secret_matches,
    event_key,
)
from emailhook.providers.unisender_go.send import SEND_SETTINGS

NAME = "unisender_go"
EMAIL_STATUS_EVENT = "transactional_email_status"

#: Unisender Go ``status`` -> event type (anymail's table: a soft bounce is retried: deferred)
STATUSES: dict[str, EventType] = {
    "sent": EventType.SENT,
    "delivered": EventType.DELIVERED,
    "opened": EventType.OPENED,
    "clicked": EventType.CLICKED,
    "unsubscribed": EventType.UNSUBSCRIBED,
    "subscribed": EventType.SUBSCRIBED,
    "spam": EventType.COMPLAINED,
    "soft_bounced": EventType.DEFERRED,
    "hard_bounced": EventType.BOUNCED,
}

#: Unisender Go ``delivery_info.delivery_status`` -> (bounce class, reject reason): permanent
#: errors are hard, temporary ones soft (reasons from anymail's table)
DELIVERY_STATUSES: dict[str, tuple[BounceClass, RejectReason | None]] = {
    "err_user_unknown": (BounceClass.HARD, RejectReason.BOUNCED),
    "err_user_inactive": (BounceClass.HARD, RejectReason.BOUNCED),
    "err_mailbox_discarded": (BounceClass.HARD, RejectReason.BOUNCED),
    "err_domain_inactive": (BounceClass.HARD, RejectReason.BOUNCED),
    "err_destination_misconfigured": (BounceClass.HARD, RejectReason.BOUNCED),
    "err_src_invalid": (BounceClass.HARD, RejectReason.INVALID),
    "err_dest_invalid": (BounceClass.HARD, RejectReason.INVALID),
    "err_will_retry": (BounceClass.SOFT, None),  #: not rejected: will be retried
    "err_mailbox_full": (BounceClass.SOFT, RejectReason.BOUNCED),
    "err_too_large": (BounceClass.SOFT, RejectReason.BOUNCED),
    "err_spam_rejected": (BounceClass.BLOCK, RejectReason.SPAM),
    "err_blacklisted": (BounceClass.BLOCK, RejectReason.BLOCKED),
    "err_delivery_failed": (BounceClass.UNDETERMINED, RejectReason.OTHER),
    "err_lost": (BounceClass.UNDETERMINED, RejectReason.OTHER),
    # not attempted: Unisender Go already lists the address (see SUPPRESSED_DROPS)
    "err_unsubscribed": (BounceClass.HARD, RejectReason.UNSUBSCRIBED),
    "err_unreachable": (BounceClass.HARD, RejectReason.BOUNCED),
    "err_skip_letter": (BounceClass.HARD, RejectReason.BOUNCED),
    "err_spam_skipped": (BounceClass.HARD, RejectReason.SPAM),
}

#: delivery statuses of a message Unisender Go did not try to send because the address is on
#: its lists (unsubscribed, unreachable after earlier failures, complained): rejections
SUPPRESSED_DROPS = frozenset(
    {"err_unsubscribed", "err_unreachable", "err_skip_letter", "err_spam_skipped"}
)


def unisender_auth(body: bytes, offered: str, api_key: str) -> bytes:
    """Return the ``auth`` Unisender Go computes: MD5 hex of the body with ``offered``
    replaced by the API key."""
    signed = body.replace(offered.encode("utf-8"), api_key.encode("utf-8"))
    return hashlib.md5(signed, usedforsecurity=False).hexdigest().encode()


class UnisenderGo(Provider):
    """Unisender Go: the ``auth`` field, batches or single events."""

    name = NAME
    settings = (
        ProviderSetting(
            "api_keys", "secrets", "the account's or project's API keys; the first also sends"
        ),
        *SEND_SETTINGS,
    )
    enabled_by = ("api_keys",)
    check_methods = frozenset({"GET"})

    def authenticate(self, request: WebhookRequest, now: datetime) -> None:
        del now
        try:
            body = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            raise AuthenticationError("body is not JSON: no auth field") from None
        offered = body.get("auth") if isinstance(body, Mapping) else None
        if not isinstance(offered, str) or not offered.strip():
            raise AuthenticationError("no auth field")
        keys = self.values.get("api_keys", ())
        expected = [unisender_auth(request.body, offered, key) for key in keys]
        if not any_secret_matches(offered.strip().lower().encode(), expected):
            raise AuthenticationError("wrong auth field")

    def parse(self, request: StoredRequest) -> ParsedBody:
        body = load_json(request.body, NAME)
        if not isinstance(body, Mapping):
            raise UnreadableBodyError("Unisender Go body is not a JSON object")
        if "events_by_user" in body:
            return _batch(body["events_by_user"])
        if "event_name" not in body:
            raise UnreadableBodyError("Unisender Go body has neither events_by_user nor event")
        # single-event mode: one flat object, event_data's fields at the top level
        if body["event_name"] != EMAIL_STATUS_EVENT:
            return ParsedBody(Shape.PROVIDER)
        return ParsedBody(Shape.PROVIDER, events=[_event(body)])


def _batch(users: object) -> ParsedBody:
    if not isinstance(users, list):
        raise UnreadableBodyError("events_by_user is not an array")
    # items are numbered across users, in the order sent
    items = [item for user in users for item in mapping(user).get("events") or ()]
    return parse_items(items, _read)


def _read(item: object) -> EmailEvent | str | None:
    data = mapping(item).get("event_data") if isinstance(item, Mapping) else None
    if not isinstance(item, Mapping) or not isinstance(data, Mapping):
        return "event has no event_data object"
    if item.get("event_name") != EMAIL_STATUS_EVENT:
        return None  # transactional_spam_block events are about Unisender's servers
    return _event(data)


def _event(data: Mapping[str, Any]) -> EmailEvent:
    status = text(data.get("status")) or ""
    event_type = STATUSES.get(status, EventType.UNKNOWN)
    info = mapping(data.get("delivery_info"))
    delivery_status = text(info.get("delivery_status"))
    bounce_class = reject_reason = None
    if delivery_status and delivery_status.startswith("err"):
        bounce_class, reject_reason = DELIVERY_STATUSES.get(
            delivery_status, (BounceClass.UNDETERMINED, RejectReason.OTHER)
        )
        if delivery_status in SUPPRESSED_DROPS:
            event_type = EventType.REJECTED
    message_id = text(data.get("job_id"))
    email = plain_address(data.get("email"))
    url = text(data.get("url"))
    # event_time is naive UTC, "2024-09-06 23:14:19" (sent_event.json)
    return provider_event(
        NAME,
        # no event id (the ID header changes on every retry, anymail)
        key=event_key(NAME, message_id, email, status, data.get("event_time"), url),
        event_type=event_type,
        status=status,
        email=email,
        message_id=message_id,
        event_at=parse_instant(data.get("event_time")),
        raw=data,
        metadata=mapping(data.get("metadata")) or None,
        bounce_class=bounce_class,
        reject_reason=reject_reason,
        url=url,
        error_description=text(info.get("destination_response")),
        status_description=delivery_status or text(data.get("comment")),
    )
