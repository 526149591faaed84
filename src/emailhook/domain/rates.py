"""The dashboard's rates, defined once: which event counts divide which.

Counts are of stored events by ``email_callback.status`` (Infobip's status group or tracking
type), not of distinct messages: a message opened twice counts two OPENED events, so the open
rate can pass 100 %. Delivery and bounce divide by the final delivery reports; engagement and
complaints divide by the deliveries they presuppose. A rate with nothing to divide by is None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from emailhook.domain.statuses import InfobipStatus as S

#: delivery reports that end a message's delivery (PENDING does not)
FINAL_REPORTS: tuple[str, ...] = (S.DELIVERED, S.UNDELIVERABLE, S.EXPIRED, S.REJECTED)
#: bounces: refused by the receiving server, at once or after a DELIVERED report
BOUNCES: tuple[str, ...] = (S.UNDELIVERABLE, S.LATE_BOUNCE)


@dataclass(frozen=True, slots=True)
class RateDefinition:
    name: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]


#: every rate the dashboard shows, in display order: numerator / denominator, as status sums
DEFINITIONS: tuple[RateDefinition, ...] = (
    RateDefinition("delivery", (S.DELIVERED,), FINAL_REPORTS),
    RateDefinition("bounce", BOUNCES, FINAL_REPORTS),
    RateDefinition("open", (S.OPENED,), (S.DELIVERED,)),
    RateDefinition("click", (S.CLICKED,), (S.DELIVERED,)),
    RateDefinition("complaint", (S.COMPLAINED,), (S.DELIVERED,)),
    RateDefinition("unsubscribe", (S.UNSUBSCRIBED,), (S.DELIVERED,)),
)
RATE_NAMES: tuple[str, ...] = tuple(d.name for d in DEFINITIONS)


@dataclass(frozen=True, slots=True)
class Rates:
    """Each rate of :data:`DEFINITIONS` by name (None: nothing to divide by), and its base."""

    values: Mapping[str, float | None]
    final_reports: int
    delivered: int

    def __getitem__(self, name: str) -> float | None:
        return self.values[name]


def compute(counts: Mapping[str, int]) -> Rates:
    """Return the rates of a set of events, given their counts by status."""

    def total(statuses: tuple[str, ...]) -> int:
        return sum(counts.get(status, 0) for status in statuses)

    values: dict[str, float | None] = {}
    for definition in DEFINITIONS:
        denominator = total(definition.denominator)
        values[definition.name] = total(definition.numerator) / denominator if denominator else None
    return Rates(values, final_reports=total(FINAL_REPORTS), delivered=counts.get(S.DELIVERED, 0))


def describe(definition: RateDefinition) -> str:
    """Return ``A + B / (C + D)`` for the page that explains a rate."""

    def sum_of(statuses: tuple[str, ...]) -> str:
        text = " + ".join(statuses)
        return f"({text})" if len(statuses) > 1 else text

    return f"{sum_of(definition.numerator)} / {sum_of(definition.denominator)}"
