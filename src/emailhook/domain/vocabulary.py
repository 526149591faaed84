"""One vocabulary for every provider's events: anymail's words, so that people who know it feel
at home. Each provider module maps its own names onto these in a table of its own."""

from __future__ import annotations

import enum


class EventType(enum.StrEnum):
    """What happened to a message, whichever provider said it."""

    QUEUED = "queued"  #: accepted by the provider, not yet sent
    SENT = "sent"  #: handed to the receiving server
    REJECTED = "rejected"  #: refused by the provider before sending (policy, suppression list)
    FAILED = "failed"  #: could not be sent (a provider error, expiry)
    BOUNCED = "bounced"  #: the receiving side refused it: see BounceClass for hard or soft
    DEFERRED = "deferred"  #: delayed; the provider will try again
    DELIVERED = "delivered"
    AUTORESPONDED = "autoresponded"  #: an out-of-office or similar automatic answer
    OPENED = "opened"
    CLICKED = "clicked"
    COMPLAINED = "complained"  #: marked as spam by the recipient
    UNSUBSCRIBED = "unsubscribed"
    SUBSCRIBED = "subscribed"  #: an unsubscribe undone, or a resubscribe
    UNKNOWN = "unknown"  #: a provider event this service has no word for: kept raw


class BounceClass(enum.StrEnum):
    """How final a bounce (or a rejection) is, read from the provider's own field."""

    HARD = "hard"  #: permanent: the address does not exist or never accepts mail
    SOFT = "soft"  #: temporary: full mailbox, server down, greylisting
    BLOCK = "block"  #: refused for the sender's or content's reputation, not the address
    UNDETERMINED = "undetermined"  #: the provider could not tell


class RejectReason(enum.StrEnum):
    """Why a provider refused or dropped a message (anymail's ``reject_reason``)."""

    INVALID = "invalid"  #: not a valid address
    BOUNCED = "bounced"  #: the provider suppresses the address after an earlier bounce
    TIMED_OUT = "timed_out"
    BLOCKED = "blocked"
    SPAM = "spam"  #: the provider suppresses the address after a complaint (or spam content)
    UNSUBSCRIBED = "unsubscribed"  #: the provider suppresses the address after an unsubscribe
    OTHER = "other"


#: Rejections that mean "the provider already suppresses this address": the address stays
#: suppressed, but the drop is not a new bounce or complaint of its own.
ALREADY_SUPPRESSED: frozenset[RejectReason] = frozenset(
    {RejectReason.BOUNCED, RejectReason.SPAM, RejectReason.UNSUBSCRIBED}
)

#: event types about a message's delivery; the others are what recipients did
DELIVERY_TYPES: frozenset[EventType] = frozenset(
    {
        EventType.QUEUED,
        EventType.SENT,
        EventType.REJECTED,
        EventType.FAILED,
        EventType.BOUNCED,
        EventType.DEFERRED,
        EventType.DELIVERED,
        EventType.AUTORESPONDED,
    }
)
