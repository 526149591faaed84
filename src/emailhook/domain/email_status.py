"""The status of an e-mail address, derived from its events whatever order they arrive in.

Every event is classified into an :class:`EmailStatus`; an address's status is the one of
highest :data:`RANK` among all its events. ``max`` is commutative, associative and ignores
repeats, so a late DELIVERED never hides an earlier bounce or complaint, and an event stored
twice (it never is) would change nothing but its count.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce

from emailhook.domain.vocabulary import ALREADY_SUPPRESSED, BounceClass, EventType, RejectReason


class EmailStatus(enum.StrEnum):
    """The derived vocabulary of an address's status, read from its events' vocabulary
    (``event_type``, ``bounce_class``, ``reject_reason``), whichever provider sent them."""

    UNKNOWN = "UNKNOWN"  #: an event type this service does not know (kept, ranked lowest)
    #: a resubscribe (Infobip's UNBLOCK, SendGrid's group_resubscribe, ...): lifts an
    #: unsubscribe from the suppression list, and says nothing about the address's
    #: deliverability (ranked below everything that does)
    UNBLOCKED = "UNBLOCKED"
    PENDING = "PENDING"  #: queued, sent or deferred: no final outcome yet
    REJECTED = "REJECTED"  #: refused or failed before sending (credit, policy, expiry)
    #: no longer derived (issue 23): Infobip's EXPIRED is ``failed``, so REJECTED; ranked,
    #: for the state rows derived before, until ``emailhook rebuild`` recomputes them
    EXPIRED = "EXPIRED"
    SOFT_BOUNCE = "SOFT_BOUNCE"  #: bounced, not hard (soft, block or undetermined)
    DELIVERED = "DELIVERED"
    OPENED = "OPENED"
    CLICKED = "CLICKED"
    HARD_BOUNCE = "HARD_BOUNCE"  #: bounced, hard (no such mailbox, no MX; a late bounce)
    #: no longer derived (issue 23): Infobip's LATE_BOUNCE is ``bounced``, ``hard``, so
    #: HARD_BOUNCE; ranked, for the state rows derived before
    LATE_BOUNCE = "LATE_BOUNCE"
    #: rejected because the provider already suppresses the address (``ALREADY_SUPPRESSED``
    #: reasons: Infobip's 6003/6034/6035, SendGrid's, Mailgun's ... suppression lists)
    SUPPRESSED = "SUPPRESSED"
    UNSUBSCRIBED = "UNSUBSCRIBED"
    COMPLAINED = "COMPLAINED"  #: marked as spam: the most severe


#: Severity rank: an address's status is its event of highest rank. Ranks are distinct, so the
#: maximum is one status, never a tie between two. Engagement (OPENED, CLICKED) outranks
#: DELIVERED because it implies it; anything that says "do not mail" outranks engagement.
RANK: Mapping[EmailStatus, int] = {
    EmailStatus.UNKNOWN: 0,
    EmailStatus.UNBLOCKED: 5,
    EmailStatus.PENDING: 10,
    EmailStatus.REJECTED: 20,
    EmailStatus.EXPIRED: 21,
    EmailStatus.SOFT_BOUNCE: 22,
    EmailStatus.DELIVERED: 30,
    EmailStatus.OPENED: 40,
    EmailStatus.CLICKED: 50,
    EmailStatus.HARD_BOUNCE: 60,
    EmailStatus.LATE_BOUNCE: 61,
    EmailStatus.SUPPRESSED: 65,
    EmailStatus.UNSUBSCRIBED: 70,
    EmailStatus.COMPLAINED: 80,
}

#: The derived status of each event type; bounces and rejections are decided by their class
#: and reason (``classify_vocabulary``), the rest here.
EVENT_TYPE_STATUSES: Mapping[EventType, EmailStatus] = {
    EventType.QUEUED: EmailStatus.PENDING,
    EventType.SENT: EmailStatus.PENDING,
    EventType.DEFERRED: EmailStatus.PENDING,  # Mailgun's and Unisender's soft bounces: retried
    EventType.FAILED: EmailStatus.REJECTED,  # not sent, and not the address's fault
    EventType.DELIVERED: EmailStatus.DELIVERED,
    EventType.AUTORESPONDED: EmailStatus.DELIVERED,  # an out-of-office answer: it arrived
    EventType.OPENED: EmailStatus.OPENED,
    EventType.CLICKED: EmailStatus.CLICKED,
    EventType.COMPLAINED: EmailStatus.COMPLAINED,
    EventType.UNSUBSCRIBED: EmailStatus.UNSUBSCRIBED,
    #: a resubscribe (Infobip's UNBLOCK, SendGrid's group_resubscribe, ...): it lifts an
    #: unsubscribe suppression of any provider, ranked low otherwise
    EventType.SUBSCRIBED: EmailStatus.UNBLOCKED,
    EventType.UNKNOWN: EmailStatus.UNKNOWN,
}


def classify_vocabulary(
    event_type: EventType | str | None,
    bounce_class: BounceClass | str | None,
    reject_reason: RejectReason | str | None,
) -> EmailStatus:
    """Return the derived status of any provider's event from its vocabulary fields: the one
    classification (contact state, counts and the suppression rules all read it).

    A bounce is hard only when the provider's own field says so; soft, undetermined and block
    bounces count as soft (a block is the sender's or content's reputation, not the address:
    it must not suppress the address on its own, only repeated soft bounces do). A rejection
    because the provider already suppresses the address keeps it suppressed without being a
    new bounce; other rejections are not the address's fault.
    """
    if event_type == EventType.BOUNCED:
        return (
            EmailStatus.HARD_BOUNCE if bounce_class == BounceClass.HARD else EmailStatus.SOFT_BOUNCE
        )
    if event_type == EventType.REJECTED:
        if reject_reason in ALREADY_SUPPRESSED:
            return EmailStatus.SUPPRESSED
        return EmailStatus.REJECTED
    try:
        return EVENT_TYPE_STATUSES[EventType(event_type or EventType.UNKNOWN)]
    except ValueError:  # a word this version does not know: ranked lowest, kept
        return EmailStatus.UNKNOWN


@dataclass(frozen=True, slots=True)
class Observation:
    """What the derived state needs of one stored event."""

    event_id: int
    qj_contact_id: int | None
    email: str | None
    status: EmailStatus
    #: the event's own time (``doneAt``), else when this service received it: tracking
    #: events carry no time of their own
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Summary:
    """The derived state of one (contact, address) pair, or of any set of its events."""

    status: EmailStatus
    #: earliest event with that status
    status_since: datetime
    last_event_id: int
    #: the last event by (time, id): the order is total, so the pick never depends on arrival
    last_event_at: datetime
    last_status: EmailStatus
    counts: Mapping[EmailStatus, int] = field(default_factory=dict)


def observe(observation: Observation) -> Summary:
    """Return the summary of a single event."""
    return Summary(
        status=observation.status,
        status_since=observation.occurred_at,
        last_event_id=observation.event_id,
        last_event_at=observation.occurred_at,
        last_status=observation.status,
        counts={observation.status: 1},
    )


def merge(a: Summary, b: Summary) -> Summary:
    """Return the summary of the union of two disjoint sets of events (order-free)."""
    if RANK[a.status] != RANK[b.status]:
        top = a if RANK[a.status] > RANK[b.status] else b
        status, since = top.status, top.status_since
    else:
        status, since = a.status, min(a.status_since, b.status_since)
    last = a if (a.last_event_at, a.last_event_id) >= (b.last_event_at, b.last_event_id) else b
    counts = dict(a.counts)
    for counted, n in b.counts.items():
        counts[counted] = counts.get(counted, 0) + n
    return Summary(
        status=status,
        status_since=since,
        last_event_id=last.last_event_id,
        last_event_at=last.last_event_at,
        last_status=last.last_status,
        counts=counts,
    )


def summarize(observations: Iterable[Observation]) -> Summary:
    """Return the summary of a non-empty set of events."""
    return reduce(merge, map(observe, observations))
