"""Which addresses must not be mailed again, why, and since when."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from emailhook.domain.email_status import EmailStatus


class SuppressionReason(enum.StrEnum):
    SOFT_BOUNCES = "soft_bounces"  #: N soft bounces within a window (see SoftBounceRule)
    HARD_BOUNCE = "hard_bounce"  #: a permanent bounce, or a LATE_BOUNCE
    PROVIDER_SUPPRESSION = "provider_suppression"  #: Infobip refused: 6003, 6034, 6035
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

#: Statuses that suppress an address by a single event.
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
