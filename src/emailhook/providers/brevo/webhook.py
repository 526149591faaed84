"""Brevo's (formerly Sendinblue) transactional webhooks: one event a request, or an array of up
to 500 in batched mode, behind HTTP Basic or a bearer token, read into the one vocabulary.

Brevo has no event id and writes ``ts``/``date`` in the account's time zone: only ``ts_epoch``
(milliseconds UTC) is used for the event's time (anymail's finding).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from emailhook.domain.events import EmailEvent, ParsedBody
from emailhook.domain.instants import from_epoch_millis, from_epoch_seconds
from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.providers._basic import require_basic
from emailhook.providers._batch import event_or_events, named_events, parse_items
from emailhook.providers._fields import (
    load_json,
    plain_address,
    provider_event,
    text,
)
from emailhook.providers.base import (
    BASIC_CHALLENGE,
    AuthenticationError,
    Provider,
    ProviderSetting,
    StoredRequest,
    WebhookRequest,
    any_secret_matches,
    event_key,
)
from emailhook.providers.brevo.send import SEND_SETTINGS

NAME = "brevo"

#: Brevo ``event`` -> (event type, bounce class, reject reason): anymail's table, with hard or
#: soft read from Brevo's own event names
EVENT_TYPES: dict[str, tuple[EventType, BounceClass | None, RejectReason | None]] = {
    # "request" may precede "blocked": accepted, not yet sent (anymail)
    "request": (EventType.QUEUED, None, None),
    "delivered": (EventType.DELIVERED, None, None),
    "hard_bounce": (EventType.BOUNCED, BounceClass.HARD, RejectReason.BOUNCED),
    "soft_bounce": (EventType.BOUNCED, BounceClass.SOFT, RejectReason.BOUNCED),
    "invalid_email": (EventType.BOUNCED, BounceClass.HARD, RejectReason.INVALID),
    "blocked": (EventType.REJECTED, None, RejectReason.BLOCKED),  #: see _blocked_reason
    "deferred": (EventType.DEFERRED, BounceClass.SOFT, None),
    "spam": (EventType.COMPLAINED, None, None),
    "complaint": (EventType.COMPLAINED, None, None),
    "unique_opened": (EventType.OPENED, None, None),  #: first open
    "opened": (EventType.OPENED, None, None),  #: later opens
    "unique_proxy_open": (EventType.OPENED, None, None),  #: first open via a proxy (Apple)
    "proxy_open": (EventType.OPENED, None, None),
    "click": (EventType.CLICKED, None, None),
    "unsubscribe": (EventType.UNSUBSCRIBED, None, None),
    "error": (EventType.FAILED, None, None),
    "list_addition": (EventType.SUBSCRIBED, None, None),
}

#: words of a "blocked" event's ``reason`` that say Brevo already suppresses the address
#: ("blocked : due to blacklist user", blocked.json: the contact is on Brevo's blocklist)
SUPPRESSED_REASONS: dict[str, RejectReason] = {
    "unsubscri": RejectReason.UNSUBSCRIBED,
    "spam": RejectReason.SPAM,
    "complain": RejectReason.SPAM,
    "blacklist": RejectReason.BOUNCED,
    "blocklist": RejectReason.BOUNCED,
    "hard bounce": RejectReason.BOUNCED,
}

#: below this ``ts_epoch`` is in seconds, not milliseconds (1604933623 in error_email.json,
#: from Brevo's own doc sample); as milliseconds it would be January 1970
_SECONDS_BELOW = 10**11


class Brevo(Provider):
    """Brevo: HTTP Basic or a bearer token; single or batched events."""

    name = NAME
    settings = (
        ProviderSetting("basic_auth", "secrets", "user:password pairs in the webhook URL"),
        ProviderSetting("bearer_tokens", "secrets", "tokens set as the webhook's bearer auth"),
        *SEND_SETTINGS,
    )
    enabled_by = ("basic_auth", "bearer_tokens")

    def authenticate(self, request: WebhookRequest, now: datetime) -> None:
        del now
        scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            tokens = [t.encode() for t in self.values.get("bearer_tokens", ())]
            if any_secret_matches(token.strip().encode(), tokens):
                return
            raise AuthenticationError("wrong bearer token")
        if scheme.lower() == "basic":
            require_basic(request.headers, self.values.get("basic_auth", ()), NAME)
            return
        raise AuthenticationError("no credentials", challenge=BASIC_CHALLENGE)

    def parse(self, request: StoredRequest) -> ParsedBody:
        body = load_json(request.body, NAME)
        # inbound parsing posts {"items": [...]}: not a tracking body, unreadable here
        return parse_items(event_or_events(body, "Brevo"), named_events(_event))


def _instant(value: object) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < _SECONDS_BELOW:
        return from_epoch_seconds(value)
    return from_epoch_millis(value)


def _blocked_reason(reason: str | None) -> RejectReason | None:
    lowered = (reason or "").lower()
    return next((found for word, found in SUPPRESSED_REASONS.items() if word in lowered), None)


def _event(item: Mapping[str, Any]) -> EmailEvent:
    status = str(item["event"])
    event_type, bounce_class, reject_reason = EVENT_TYPES.get(
        status, (EventType.UNKNOWN, None, None)
    )
    reason = text(item.get("reason"))
    if status == "blocked":
        reject_reason = _blocked_reason(reason) or reject_reason
    message_id = text(item.get("message-id"))
    email = plain_address(item.get("email"))
    url = text(item.get("link"))
    # without ts_epoch, the account-zone ``ts`` still tells a redelivery from a new event
    stamp = item.get("ts_epoch", item.get("ts_event", item.get("ts")))
    return provider_event(
        NAME,
        key=event_key(NAME, message_id, email, status, stamp, url),
        event_type=event_type,
        status=status,
        email=email,
        message_id=message_id,
        event_at=_instant(item.get("ts_epoch")),
        raw=item,
        metadata=item.get("X-Mailin-custom"),
        bounce_class=bounce_class,
        reject_reason=reject_reason,
        url=url,
        error_description=reason,
    )
