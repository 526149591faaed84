"""What happened to a message (one e-mail to one recipient), from the vocabulary alone, and the
rates that count messages rather than events.

A message's outcome is a set of flags, each turned on by the first event of its type and never
off again: a message opened three times is one opened message. The rates divide flag counts:
delivery and bounce by the messages with a final outcome (delivered, bounced, rejected or
failed: a late bounce after a delivery counts in both, once as final), the others by the
messages delivered. A rate with nothing to divide by is None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from emailhook.domain.vocabulary import EventType

#: each flag of a message, named as in the ``message`` table (``<flag>_at``) and ``GET /stats``
FLAGS: tuple[str, ...] = (
    "delivered",
    "bounced",
    "rejected",
    "failed",
    "opened",
    "clicked",
    "complained",
    "unsubscribed",
)
#: the flags that end a message's delivery; ``final`` is on once any of them is
FINAL_FLAGS: frozenset[str] = frozenset({"delivered", "bounced", "rejected", "failed"})
#: every count of a message group: all messages, those with a final outcome, then each flag
COUNTS: tuple[str, ...] = ("messages", "final", *FLAGS)

#: the flag an event of each type turns on (other types turn on none)
FLAG_OF: Mapping[EventType, str] = {
    EventType.DELIVERED: "delivered",
    EventType.BOUNCED: "bounced",
    EventType.REJECTED: "rejected",
    EventType.FAILED: "failed",
    EventType.OPENED: "opened",
    EventType.CLICKED: "clicked",
    EventType.COMPLAINED: "complained",
    EventType.UNSUBSCRIBED: "unsubscribed",
}


def flag_of(event_type: str) -> str | None:
    """Return the flag an event of ``event_type`` turns on, or None."""
    try:
        return FLAG_OF.get(EventType(event_type))
    except ValueError:
        return None


def new_flags(current: frozenset[str], seen: frozenset[str]) -> frozenset[str]:
    """Return the counts that turn on when a message with flags ``current`` sees ``seen``:
    flags not on yet, and ``final`` when the first final flag arrives."""
    turned_on = seen - current
    if turned_on & FINAL_FLAGS and not current & FINAL_FLAGS:
        return turned_on | {"final"}
    return turned_on


@dataclass(frozen=True, slots=True)
class RateDefinition:
    """A rate: messages with ``numerator`` over messages counted as ``denominator``."""

    name: str
    numerator: str
    denominator: str


#: every rate, in display order
RATES: tuple[RateDefinition, ...] = (
    RateDefinition("delivery", "delivered", "final"),
    RateDefinition("bounce", "bounced", "final"),
    RateDefinition("open", "opened", "delivered"),
    RateDefinition("click", "clicked", "delivered"),
    RateDefinition("complaint", "complained", "delivered"),
    RateDefinition("unsubscribe", "unsubscribed", "delivered"),
)
RATE_NAMES: tuple[str, ...] = tuple(rate.name for rate in RATES)


def rates(messages: Mapping[str, int], digits: int = 3) -> dict[str, float | None]:
    """Return each rate of :data:`RATES` from message counts (None: nothing to divide by)."""
    values: dict[str, float | None] = {}
    for rate in RATES:
        base = messages.get(rate.denominator, 0)
        values[rate.name] = round(messages.get(rate.numerator, 0) / base, digits) if base else None
    return values
