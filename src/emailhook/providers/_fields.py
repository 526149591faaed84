"""The readers every provider module shares: JSON bodies, text fields, addresses, signed
timestamps, and the one builder of :class:`EmailEvent`, so that all thirteen fill the same
fields the same way.

Tolerant Reader helpers: a field of the wrong type reads as absent, never as an error. The
JSON loader tells "not this provider's body" (UnreadableBodyError) apart. Pure: no framework.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from emailhook.domain.addresses import stored_address
from emailhook.domain.callback_data import callback_fields
from emailhook.domain.events import EmailEvent, EventKind
from emailhook.domain.vocabulary import DELIVERY_TYPES, BounceClass, EventType, RejectReason
from emailhook.providers.base import AuthenticationError, UnreadableBodyError

EMPTY: Mapping[str, Any] = {}

#: event types that carry a bounce class: how final a refusal or a delay is
BOUNCE_CLASS_TYPES = frozenset(
    {
        EventType.BOUNCED,
        EventType.REJECTED,
        EventType.FAILED,
        EventType.DEFERRED,
        EventType.AUTORESPONDED,
    }
)
#: event types that carry a reject reason (a deferral rejects nothing; a complaint or an
#: unsubscribe is told by its event type)
REJECT_REASON_TYPES = frozenset({EventType.BOUNCED, EventType.REJECTED, EventType.FAILED})


def load_json(body: bytes, provider: str) -> Any:
    """Return the decoded JSON body (orjson keeps big integers exact), or raise
    UnreadableBodyError naming the provider."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise UnreadableBodyError(f"{provider} body is not JSON: {error}") from error


def mapping(value: object) -> Mapping[str, Any]:
    """Return ``value`` if it is a JSON object, else an empty mapping."""
    # ``type(...) is dict`` first: decoded JSON is always a dict, and the ABC check is slow
    return value if type(value) is dict or isinstance(value, Mapping) else EMPTY


def text(value: object) -> str | None:
    """Return a scalar as stripped text (ints as digits, never through a float), '' as None."""
    if type(value) is str:  # the common case, checked first: it runs ten times an event
        return value.strip() or None
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    return str(value).strip() or None


def scalar_text(value: object) -> str | None:
    """Return :func:`text`, but a boolean as ``"True"``/``"False"``: Infobip's reader.

    Infobip's fields were read so from its first day, and its stored event keys digest what
    they read (a ``messageId`` of ``true`` is the text ``True``): reading them as :func:`text`
    does would change stored keys, so Infobip keeps this one difference.
    """
    if type(value) is str:
        return value.strip() or None
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value).strip() or None


def scalar_upper(value: object) -> str | None:
    """Return :func:`scalar_text` upper-cased (Infobip's status names), or None."""
    found = scalar_text(value)
    return found.upper() if found else None


def scalar_address(value: object) -> str | None:
    """Return :func:`plain_address` of :func:`scalar_text` (Infobip's recipients), or None."""
    found = scalar_text(value)
    return stored_address(found) if found else None


def boolean(value: object) -> bool | None:
    """Return a JSON boolean, else None (``"true"`` is not one)."""
    return value if isinstance(value, bool) else None


def address(value: object) -> str | None:
    """Return the recipient of ``a@b`` or ``Name <a@b>`` by the one definition
    (``domain.addresses.stored_address``: lower-cased; text that is no address is kept as
    it came, for the event to be set aside), else None."""
    raw = text(value)
    if raw is None:
        return None
    # Only the plain ``Name <a@b>`` form is unwrapped: email.utils.parseaddr turns hostile
    # text into an address (``=hyperlink("x")@evil.example`` gives ``=hyperlink@evil.example``).
    if raw.endswith(">") and "<" in raw:
        raw = raw[raw.rindex("<") + 1 : -1].strip() or raw
    return stored_address(raw)


def plain_address(value: object) -> str | None:
    """Return a field that holds a bare address by the one definition (``stored_address``),
    or None (the SparkPost .. Unisender Go modules read it so: their samples carry no
    display names)."""
    found = text(value)
    return stored_address(found) if found else None


def kind_of(event_type: EventType) -> EventKind:
    """Return whether an event type is about delivery or about what the recipient did."""
    return EventKind.DELIVERY_REPORT if event_type in DELIVERY_TYPES else EventKind.TRACKING


def metadata_fields(value: object) -> dict[str, Any]:
    """Return ``callback_fields`` of sender metadata: an object, or JSON text ('' is none)."""
    if isinstance(value, str) and not value.strip():
        value = None
    return callback_fields(value)


def provider_event(
    provider: str,
    *,
    key: str,
    event_type: EventType,
    status: str | None,
    email: str | None,
    message_id: str | None,
    event_at: datetime | None,
    raw: Mapping[str, Any],
    metadata: object = None,
    provider_event_id: str | None = None,
    bounce_class: BounceClass | None = None,
    reject_reason: RejectReason | None = None,
    url: str | None = None,
    error_description: str | None = None,
    status_description: str | None = None,
    sent_at: datetime | None = None,
    bulk_id: str | None = None,
    classed_types: frozenset[EventType] = BOUNCE_CLASS_TYPES,
) -> EmailEvent:
    """Return one normalized event with the fields every provider module fills.

    A bounce class read for an event type not in ``classed_types``, or a reject reason for
    one that has none, is dropped (a Unisender "spam" complaint carries
    ``err_spam_rejected``: spam_event.json).
    """
    return EmailEvent(
        event_key=key,
        kind=kind_of(event_type),
        status=status,
        email=email,
        message_id=message_id,
        bulk_id=bulk_id,
        provider_event_id=provider_event_id,
        event_at=event_at,
        sent_at=sent_at,
        url=url,
        error_description=error_description,
        status_description=status_description,
        raw=dict(raw),  # a copy each: events of one body share no mutable raw
        provider=provider,
        event_type=event_type,
        bounce_class=bounce_class if event_type in classed_types else None,
        reject_reason=reject_reason if event_type in REJECT_REASON_TYPES else None,
        **metadata_fields(metadata),
    )


def unique_by_key(events: list[EmailEvent]) -> list[EmailEvent]:
    """Return ``events`` with each key once (the first stands): one batch may hold one
    happening twice (SparkPost's initial_open/open pair), and storage needs one row a key."""
    seen: dict[str, EmailEvent] = {}
    for event in events:
        seen.setdefault(event.event_key, event)
    return list(seen.values())


def epoch_seconds(value: object) -> float | None:
    """Return a signed timestamp (``"1534108637"``, ``1534108637.15``) as float seconds."""
    if isinstance(value, bool):
        return None
    try:
        return float(value) if isinstance(value, (int, float, str)) else None
    except ValueError:
        return None


def is_fresh(stamp: float | None, now: datetime, max_age_seconds: float) -> bool:
    """Return True when ``stamp`` lies within ``max_age_seconds`` of ``now``, either side
    (a clock ahead of ours is as suspect as a stale one)."""
    if stamp is None or stamp != stamp:  # NaN compares unequal to itself
        return False
    return abs(now.timestamp() - stamp) <= max_age_seconds


def require_fresh(stamp: str, now: datetime, max_age_seconds: float, what: str) -> None:
    """Raise AuthenticationError("<what> outside the freshness window") unless the signed
    timestamp ``stamp`` is fresh: a signature over an old timestamp may be a replay."""
    if not is_fresh(epoch_seconds(stamp), now, max_age_seconds):
        raise AuthenticationError(f"{what} outside the freshness window")


class SeenTokens:
    """The tokens seen within a freshness window, each bound to the body it first came with.

    Mailgun's signature covers its timestamp and token, not the body: a captured token could
    carry a forged body. A token is taken again only with the very same body (a retry of a
    request that was not answered 2xx, which the event keys store once); with another body it
    is a replay. In memory and per process, bounded, oldest forgotten first.
    """

    def __init__(self, window_seconds: float, max_size: int = 50_000) -> None:
        self._window = window_seconds
        self._max_size = max_size
        self._seen: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def bind(self, token: str, body: bytes, now: datetime) -> bool:
        """Record ``token`` with ``body``; return False if it came with another body."""
        instant = now.timestamp()
        digest = hashlib.blake2b(body, digest_size=16).digest()
        with self._lock:
            while self._seen:
                oldest, (seen_at, _) = next(iter(self._seen.items()))
                if instant - seen_at <= self._window and len(self._seen) < self._max_size:
                    break
                del self._seen[oldest]
            if token in self._seen:
                return self._seen[token][1] == digest
            self._seen[token] = (instant, digest)
            return True
