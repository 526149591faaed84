"""Events whose recipient is not an e-mail address: set aside, never stored as events.

A recipient chooses the address a company sends to, and a provider reports whatever it was
given: ``@``, ``a\\nINJECTED LINE@x.example``, a right-to-left override, 5,000 characters.
Such an event is answered 200 like any other (the provider must not retry), kept raw in its
inbox body and counted like another channel's item (label :data:`NOT_AN_ADDRESS`), and never
becomes an ``email_callback`` row, contact state or a suppression. An event with no recipient
at all (a platform notice, a report without ``to``) is not concerned: it is stored as before.
"""

from __future__ import annotations

from emailhook.domain.addresses import is_address
from emailhook.domain.events import EmailEvent, OtherChannelItem, ParsedBody

#: the "channel" an item is counted under when its recipient is not an e-mail address
NOT_AN_ADDRESS = "NOT_AN_ADDRESS"


def has_address(event: EmailEvent) -> bool:
    """Return True unless the event names a recipient that is not an e-mail address."""
    return event.email is None or is_address(event.email)


def set_aside(index: int) -> OtherChannelItem:
    """Return the item ``index`` of a body counted as one whose recipient is no address."""
    return OtherChannelItem(index, NOT_AN_ADDRESS)


def without_non_addresses(parsed: ParsedBody) -> ParsedBody:
    """Return ``parsed`` with every event whose recipient is not an address set aside.

    The items set aside are numbered by their place among the body's events (a provider's
    item may give several events, one per recipient).
    """
    if all(has_address(event) for event in parsed.events):
        return parsed
    kept: list[EmailEvent] = []
    aside = list(parsed.other_channels)
    for index, event in enumerate(parsed.events):
        if has_address(event):
            kept.append(event)
        else:
            aside.append(set_aside(index))
    return ParsedBody(
        parsed.shape,
        events=kept,
        platform_events=parsed.platform_events,
        rejected=parsed.rejected,
        other_channels=aside,
    )
