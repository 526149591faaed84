"""Small readers shared by the Amazon SES, SendGrid, Mailgun, Postmark and Resend modules.

Tolerant Reader helpers (text, addresses, objects), the JSON body loader that tells "not this
provider's body" apart, and the freshness check of signed timestamps. Pure: no framework.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from email.utils import parseaddr
from typing import Any

import orjson

from emailhook.domain.events import EventKind
from emailhook.domain.vocabulary import DELIVERY_TYPES, EventType
from emailhook.providers.base import UnreadableBodyError

_EMPTY: Mapping[str, Any] = {}


def load_json(body: bytes, provider: str) -> Any:
    """Return the decoded JSON of ``body``, or raise UnreadableBodyError naming ``provider``."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise UnreadableBodyError(f"{provider} body is not JSON: {error}") from error


def mapping(value: object) -> Mapping[str, Any]:
    """Return ``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else _EMPTY


def text(value: object) -> str | None:
    """Return a scalar as stripped text (ints str()-ed, never through a float), else None."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    return str(value).strip() or None


def address(value: object) -> str | None:
    """Return an e-mail address lower-cased, from ``a@b`` or ``Name <a@b>``, else None."""
    raw = text(value)
    if raw is None:
        return None
    _, parsed = parseaddr(raw)
    return (parsed or raw).strip().lower() or None


def kind_of(event_type: EventType) -> EventKind:
    """Return whether an event type is about delivery or about what the recipient did."""
    return EventKind.DELIVERY_REPORT if event_type in DELIVERY_TYPES else EventKind.TRACKING


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


def first_values(tags: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``{"k": ["v", ...]}`` tags as ``{"k": "v"}`` (SES ``mail.tags``)."""
    out: dict[str, Any] = {}
    for key, value in tags.items():
        if isinstance(value, list):
            if value:
                out[str(key)] = value[0]
        else:
            out[str(key)] = value
    return out


class SeenTokens:
    """The tokens seen within a freshness window: a replay is a token seen before.

    In memory and per process (a replay across processes within the window gets through to
    the event key, which stores it once); bounded, oldest forgotten first.
    """

    def __init__(self, window_seconds: float, max_size: int = 50_000) -> None:
        self._window = window_seconds
        self._max_size = max_size
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_sighting(self, token: str, now: datetime) -> bool:
        """Record ``token``; return False if it was already seen within the window."""
        instant = now.timestamp()
        with self._lock:
            while self._seen:
                oldest, seen_at = next(iter(self._seen.items()))
                if instant - seen_at <= self._window and len(self._seen) < self._max_size:
                    break
                del self._seen[oldest]
            if token in self._seen:
                return False
            self._seen[token] = instant
            return True
