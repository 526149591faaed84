"""Mailjet's event webhooks (HTTP Basic): an array when "group events" is on, a bare object
otherwise (anymail ``test_non_grouped_event``), read into the one vocabulary.

``MessageID`` exceeds 2**53 (12345678901234567 in sent_event.json): orjson reads it as an
exact int and it is kept as text, never through a float.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emailhook.domain.events import EmailEvent, ParsedBody
from emailhook.domain.instants import from_epoch_seconds
from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.providers._basic import BasicAuthenticated
from emailhook.providers._batch import event_or_events, named_events, parse_items
from emailhook.providers._fields import (
    load_json,
    plain_address,
    provider_event,
    text,
)
from emailhook.providers.base import (
    ProviderSetting,
    StoredRequest,
    event_key,
)
from emailhook.providers.mailjet.send import SEND_SETTINGS

NAME = "mailjet"

#: Mailjet ``event`` -> event type (anymail's table; Mailjet's "sent" is the receiving MTA's 250)
EVENT_TYPES: dict[str, EventType] = {
    "sent": EventType.DELIVERED,
    "open": EventType.OPENED,
    "click": EventType.CLICKED,
    "bounce": EventType.BOUNCED,
    "blocked": EventType.REJECTED,
    "spam": EventType.COMPLAINED,
    "unsub": EventType.UNSUBSCRIBED,
}

#: Mailjet ``error`` -> reject reason (anymail's table, with the two drops of an address
#: Mailjet already suppresses made ALREADY_SUPPRESSED reasons)
REJECT_REASONS: dict[str, RejectReason] = {
    # error_related_to: recipient
    "user unknown": RejectReason.BOUNCED,
    "mailbox inactive": RejectReason.BOUNCED,
    "quota exceeded": RejectReason.BOUNCED,
    "blacklisted": RejectReason.BLOCKED,  #: the account's own exclusion list: not Mailjet's
    "spam reporter": RejectReason.SPAM,  #: the recipient reported an earlier message
    # error_related_to: domain
    "invalid domain": RejectReason.BOUNCED,
    "no mail host": RejectReason.BOUNCED,
    "relay/access denied": RejectReason.BOUNCED,
    "greylisted": RejectReason.OTHER,
    "typofix": RejectReason.INVALID,
    # error_related_to: spam (Mailjet's own filtering)
    "sender blocked": RejectReason.BLOCKED,
    "content blocked": RejectReason.BLOCKED,
    "policy issue": RejectReason.BLOCKED,
    # error_related_to: mailjet
    "preblocked": RejectReason.BOUNCED,  #: on Mailjet's list after an earlier hard bounce
    "duplicate in campaign": RejectReason.OTHER,
}


class Mailjet(BasicAuthenticated):
    """Mailjet: HTTP Basic credentials, grouped or single events."""

    name = NAME
    settings = (
        ProviderSetting("basic_auth", "secrets", "user:password pairs in the webhook URL"),
        *SEND_SETTINGS,
    )
    enabled_by = ("basic_auth",)

    def parse(self, request: StoredRequest) -> ParsedBody:
        body = load_json(request.body, NAME)
        return parse_items(event_or_events(body, "Mailjet"), named_events(_event))


def _event(item: Mapping[str, Any]) -> EmailEvent:
    status = str(item["event"])
    event_type = EVENT_TYPES.get(status, EventType.UNKNOWN)
    error = text(item.get("error"))
    hard = item.get("hard_bounce")
    if error == "greylisted" and hard is not True:
        # "a temporary error ... delivery will be re-attempted" (bounced_greylist_event.json)
        event_type = EventType.DEFERRED
    bounce_class = None
    if isinstance(hard, bool):
        bounce_class = BounceClass.HARD if hard else BounceClass.SOFT
    elif event_type is EventType.BOUNCED:
        bounce_class = BounceClass.UNDETERMINED
    reject_reason = REJECT_REASONS.get(error, RejectReason.OTHER) if error else None
    message_id = text(item.get("MessageID")) or text(item.get("mj_message_id"))
    email = plain_address(item.get("email"))
    url = text(item.get("url"))
    return provider_event(
        NAME,
        # Mailjet has no event id: the same event redelivered has the same fields
        key=event_key(NAME, message_id, email, status, item.get("time"), url),
        event_type=event_type,
        status=status,
        email=email,
        message_id=message_id,
        event_at=from_epoch_seconds(item.get("time")),
        raw=item,
        metadata=item.get("Payload"),
        bounce_class=bounce_class,
        reject_reason=reject_reason,
        url=url,
        error_description=text(item.get("smtp_reply")) or error,
        status_description=text(item.get("comment")),
        bulk_id=text(item.get("mj_campaign_id") or None),  # 0: no campaign (blocked_event.json)
    )
