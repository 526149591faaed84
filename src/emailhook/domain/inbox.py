"""The inbox's vocabulary: where an accepted body stands, and what each step knows of it.

Every body answered 200 is kept in the inbox until its events are stored; these are the plain
values that the intake, the relay, the worker and the operators' tools pass between them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

#: the sender's X-Request-Id is kept up to this many characters
REQUEST_ID_CHARS = 64


class BodyState(enum.StrEnum):
    """Where an accepted body stands. Every accepted body is exactly one of these."""

    PENDING = "pending"  #: accepted, not yet stored (queued, in flight or waiting to retry)
    DONE = "done"  #: its events are stored
    DEAD = "dead"  #: failed every attempt: kept with its error until an operator replays it
    UNRECOGNIZED = "unrecognized"  #: JSON object of no known shape: kept raw for an operator
    #: only items of other channels than e-mail (SMS, WhatsApp, ...) or whose recipient is
    #: not an e-mail address (``domain.recipients``): kept raw, counted
    OTHER_CHANNEL = "other_channel"


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    event_count: int
    deliveries: int


@dataclass(frozen=True, slots=True)
class PendingBody:
    id: int
    body: bytes
    received_at: datetime
    attempts: int
    request_id: str | None
    #: who sent it, and what its parsing reads besides the bytes (see ``NewBody``)
    provider: str = "infobip"
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NewBody:
    """A body about to be kept: exactly what the web process knows about it."""

    body: bytes
    shape: str
    event_count: int
    state: BodyState
    received_at: datetime
    request_id: str | None
    #: the registry name of its sender: the worker parses the body by it
    provider: str = "infobip"
    #: the Content-Type as sent (a provider may send JSON, text/plain or a form)
    content_type: str | None = None
    #: the request headers the provider's parsing reads (``kept_headers``), lower-cased
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Finished:
    """How one body ended: its final state and what it held."""

    id: int
    state: BodyState
    stored: int
    rejected: int
    #: items of other channels than e-mail, or whose recipient is not an e-mail address:
    #: counted and not stored
    other: int = 0


@dataclass(frozen=True, slots=True)
class Provenance:
    """Which inbox body an event came from, and when this service received it."""

    #: None for emailhook's own events (a one-click unsubscribe), which came in no body
    inbox_id: int | None
    received_at: datetime


def storable_request_id(request_id: str | None) -> str | None:
    """Return a request id that every database can store: printable, at most the column."""
    # The sender's X-Request-Id is a tracing aid, not a reason to refuse a body: PostgreSQL
    # refuses text with NUL or longer than the column, which would turn every retry into a 503.
    if request_id is None:
        return None
    if request_id.isprintable():
        return request_id[:REQUEST_ID_CHARS] or None
    printable = "".join(c for c in request_id if c.isprintable())
    return printable[:REQUEST_ID_CHARS] or None
