"""The one loop of a batch body: each item becomes an event, a ``RejectedItem`` saying why
it cannot be read, or nothing (a ping, an event about no message of ours).

SendGrid, SparkPost, Mailjet, Mandrill, Brevo and Unisender Go post arrays of events; a bad
item is rejected with its index and the others are kept (``Provider.parse``'s contract).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from emailhook.domain.events import EmailEvent, ParsedBody, RejectedItem, Shape
from emailhook.providers._fields import text, unique_by_key
from emailhook.providers.base import UnreadableBodyError

#: what an item reads as: its event, why it is unreadable, or None for nothing to keep
ItemReader = Callable[[object], EmailEvent | str | None]

#: the reason given for an item that is not an object naming its event
NOT_AN_EVENT = "item is not an object with an event"


def parse_items(items: Iterable[object], read: ItemReader, *, unique: bool = True) -> ParsedBody:
    """Return the events ``read`` finds in ``items`` and the items it rejects, by index;
    with ``unique``, each event key once (one batch may hold one happening twice)."""
    events: list[EmailEvent] = []
    rejected: list[RejectedItem] = []
    for index, item in enumerate(items):
        found = read(item)
        if isinstance(found, str):
            rejected.append(RejectedItem(index, found))
        elif found is not None:
            events.append(found)
    return ParsedBody(
        Shape.PROVIDER, events=unique_by_key(events) if unique else events, rejected=rejected
    )


def event_or_events(body: object, provider: str) -> list[object]:
    """Return the items of a body that is one event (an object with an ``event``) or an
    array of them (Mailjet's and Brevo's "grouped" switch); raise UnreadableBodyError else."""
    if isinstance(body, Mapping) and "event" in body:
        return [body]
    if isinstance(body, list):
        return body
    raise UnreadableBodyError(f"{provider} body is neither an event nor an array of events")


def _event_field(item: Mapping[str, Any]) -> str | None:
    return text(item.get("event"))


def named_events(
    event: Callable[[Mapping[str, Any]], EmailEvent],
    *,
    name: Callable[[Mapping[str, Any]], str | None] = _event_field,
    reason: str = NOT_AN_EVENT,
) -> ItemReader:
    """Return a reader that maps an object with a ``name`` (its ``event`` field unless told)
    through ``event`` and rejects any other item with ``reason``."""

    def read(item: object) -> EmailEvent | str:
        if not isinstance(item, Mapping) or not name(item):
            return reason
        return event(item)

    return read
