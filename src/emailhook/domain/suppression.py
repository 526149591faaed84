"""Which addresses must not be mailed again, why, since when, and until when.

A suppression can end: an operator removes it, an UNBLOCK lifts an unsubscribe, a later
delivery or the end of a window lifts a soft-bounce suppression. The list must still not depend
on the order events arrive in, so everything is decided by event time from values that merge
by ``max`` (and ``min``), which is commutative, associative and ignores repeats:

- per address and reason (and source), the first and the latest time a suppressing event
  happened (:class:`Evidence`);
- per address, the latest time each kind of lifting happened (:class:`Lifts`): an operator's
  removal lifts every reason; an UNBLOCK lifts an unsubscribe; a DELIVERED lifts soft bounces.

A reason is active when its latest suppressing time is after the latest lift that applies to
it (:func:`active_suppression`); a soft-bounce suppression is active only for a window after it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from emailhook.domain.email_status import EmailStatus


class SuppressionReason(enum.StrEnum):
    SOFT_BOUNCES = "soft_bounces"  #: N soft bounces within a window (see SoftBounceRule)
    HARD_BOUNCE = "hard_bounce"  #: a bounce of class ``hard`` (Infobip's LATE_BOUNCE too)
    #: the provider refused to send because it already suppresses the address: a rejection
    #: whose reason is bounced, spam or unsubscribed (Infobip's 6003, 6034, 6035)
    PROVIDER_SUPPRESSION = "provider_suppression"
    UNSUBSCRIBE = "unsubscribe"
    COMPLAINT = "complaint"


#: When an address qualifies for several reasons, the most severe one is shown.
REASON_RANK: Mapping[SuppressionReason, int] = {
    SuppressionReason.SOFT_BOUNCES: 1,
    SuppressionReason.HARD_BOUNCE: 2,
    SuppressionReason.PROVIDER_SUPPRESSION: 3,
    SuppressionReason.UNSUBSCRIBE: 4,
    SuppressionReason.COMPLAINT: 5,
}

#: Statuses that suppress an address by a single event (LATE_BOUNCE: state rows derived
#: before issue 23; a late bounce is a HARD_BOUNCE now).
SUPPRESSING_STATUSES: Mapping[EmailStatus, SuppressionReason] = {
    EmailStatus.HARD_BOUNCE: SuppressionReason.HARD_BOUNCE,
    EmailStatus.LATE_BOUNCE: SuppressionReason.HARD_BOUNCE,
    EmailStatus.SUPPRESSED: SuppressionReason.PROVIDER_SUPPRESSION,
    EmailStatus.UNSUBSCRIBED: SuppressionReason.UNSUBSCRIBE,
    EmailStatus.COMPLAINED: SuppressionReason.COMPLAINT,
}


@dataclass(frozen=True, slots=True)
class Suppression:
    """An address not to mail: the most severe reason, and when it first qualified."""

    reason: SuppressionReason
    since: datetime


def combine(a: Suppression, b: Suppression) -> Suppression:
    """Return the suppression for both reasons: order-free, like the status rank."""
    reason = max(a.reason, b.reason, key=REASON_RANK.__getitem__)
    return Suppression(reason, min(a.since, b.since))


@dataclass(frozen=True, slots=True)
class SoftBounceRule:
    """``limit`` soft bounces of one address within ``window`` suppress it."""

    limit: int
    window: timedelta
    #: how long a soft-bounce suppression lasts after the latest breach; None: until lifted
    suppress_for: timedelta | None = None

    def first_breach(self, bounces: Iterable[datetime]) -> datetime | None:
        """Return when the rule was first met (the limit-th bounce of the earliest window).

        It depends on the set of bounces only, not on the order they were stored in.
        """
        times = sorted(bounces)
        for start in range(len(times) - self.limit + 1):
            end = times[start + self.limit - 1]
            if end - times[start] <= self.window:
                return end
        return None


class Source(enum.StrEnum):
    """Who found the reason to suppress: our own events, or Infobip's lists (sync)."""

    EMAILHOOK = "emailhook"
    INFOBIP = "infobip"


class Lift(enum.StrEnum):
    """The kinds of event that end a suppression."""

    REMOVED = "removed"  #: an operator's removal (``emailhook suppressions remove``)
    UNBLOCKED = "unblocked"  #: an UNBLOCK from Infobip's blocklist
    DELIVERED = "delivered"  #: a later delivery to the address


#: which lifts end which reasons (an operator's removal ends every reason)
LIFTED_BY: Mapping[SuppressionReason, frozenset[Lift]] = {
    SuppressionReason.SOFT_BOUNCES: frozenset({Lift.REMOVED, Lift.DELIVERED}),
    SuppressionReason.HARD_BOUNCE: frozenset({Lift.REMOVED}),
    SuppressionReason.PROVIDER_SUPPRESSION: frozenset({Lift.REMOVED}),
    SuppressionReason.UNSUBSCRIBE: frozenset({Lift.REMOVED, Lift.UNBLOCKED}),
    SuppressionReason.COMPLAINT: frozenset({Lift.REMOVED}),
}


@dataclass(frozen=True, slots=True)
class Evidence:
    """When events of one reason (from one source) suppressed an address: first and latest."""

    reason: SuppressionReason
    source: Source
    first_at: datetime
    last_at: datetime


def merge_evidence(a: Evidence, b: Evidence) -> Evidence:
    """Return the evidence of both sets of events (same reason and source): order-free."""
    return Evidence(a.reason, a.source, min(a.first_at, b.first_at), max(a.last_at, b.last_at))


@dataclass(frozen=True, slots=True)
class Lifts:
    """The latest time each kind of lift happened to an address (None: never)."""

    removed_at: datetime | None = None
    unblocked_at: datetime | None = None
    delivered_at: datetime | None = None

    def at(self, lift: Lift) -> datetime | None:
        return {
            Lift.REMOVED: self.removed_at,
            Lift.UNBLOCKED: self.unblocked_at,
            Lift.DELIVERED: self.delivered_at,
        }[lift]

    def latest_for(self, reason: SuppressionReason) -> datetime | None:
        """Return the latest lift that ends ``reason``."""
        times = [t for t in (self.at(lift) for lift in LIFTED_BY[reason]) if t is not None]
        return max(times) if times else None


def merge_lifts(a: Lifts, b: Lifts) -> Lifts:
    """Return the lifts of both: the latest of each kind (order-free)."""
    return Lifts(*(_latest(a.at(lift), b.at(lift)) for lift in Lift))


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


@dataclass(frozen=True, slots=True)
class ActiveSuppression:
    """An address on the list: the most severe active reason, since when, from whom, until."""

    reason: SuppressionReason
    since: datetime
    source: Source
    #: when it ends by itself (a soft-bounce suppression's window), or None: until lifted
    until: datetime | None


def active_suppression(
    evidence: Iterable[Evidence], lifts: Lifts, soft_bounce_window: timedelta | None
) -> ActiveSuppression | None:
    """Return the address's suppression from its evidence and lifts, or None if none is active.

    A function of the merged values only, so of the set of events, never of their order. The
    ``since`` of a reason is its first event when that came after the lift, else its latest.
    ``None`` for the window keeps soft-bounce suppressions until lifted.
    """
    candidates: list[ActiveSuppression] = []
    for item in evidence:
        lifted = lifts.latest_for(item.reason)
        if lifted is not None and item.last_at <= lifted:
            continue
        since = item.first_at if lifted is None or item.first_at > lifted else item.last_at
        until = None
        if item.reason is SuppressionReason.SOFT_BOUNCES and soft_bounce_window is not None:
            until = item.last_at + soft_bounce_window
        candidates.append(ActiveSuppression(item.reason, since, item.source, until))
    if not candidates:
        return None
    return min(candidates, key=_precedence)


def active_reasons(
    evidence: Iterable[Evidence], lifts: Lifts, soft_bounce_window: timedelta | None, now: datetime
) -> list[ActiveSuppression]:
    """Return every reason active at ``now``, most severe first (the list shows only the first;
    the send side needs all: an unsubscribe hides a hard bounce that blocks receipts too)."""
    found = [
        item
        for item in (active_suppression([one], lifts, soft_bounce_window) for one in evidence)
        if item is not None and (item.until is None or item.until > now)
    ]
    return sorted(found, key=_precedence)


def _precedence(item: ActiveSuppression) -> tuple[int, int, datetime, str]:
    # most severe first; then one that never ends by itself; then the earliest; then by source
    return (-REASON_RANK[item.reason], item.until is not None, item.since, item.source.value)


def last_breach(rule: SoftBounceRule, bounces: Sequence[datetime]) -> datetime | None:
    """Return when the soft-bounce rule was last met (the end of the latest full window)."""
    times = sorted(bounces)
    found = None
    for end in range(rule.limit - 1, len(times)):
        if times[end] - times[end - rule.limit + 1] <= rule.window:
            found = times[end]
    return found
