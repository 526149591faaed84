"""Query parameters, read and checked at the edge: anything unreadable is a clear 400."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Mapping
from datetime import datetime

from emailhook.adapters.reads.queries import CallbackFilter
from emailhook.adapters.reads.sent_messages import MessageFilter
from emailhook.domain.instants import parse_instant
from emailhook.domain.sending.message import SendState
from emailhook.domain.statuses import EVENT_STATUSES
from emailhook.domain.vocabulary import BounceClass, EventType
from emailhook.providers.registry import BY_NAME
from emailhook.service.errors import InvalidQueryError

#: the values the ``provider`` and ``event_type`` filters take
PROVIDER_NAMES: tuple[str, ...] = tuple(BY_NAME)
EVENT_TYPES: tuple[str, ...] = tuple(t.value for t in EventType)
BOUNCE_CLASSES: tuple[str, ...] = tuple(c.value for c in BounceClass)
#: the values the ``status`` filter of sent messages takes
SEND_STATES: tuple[str, ...] = tuple(s.value for s in SendState)

#: the range of a PostgreSQL BIGINT (ids, qj_contact_id)
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
MAX_TEXT_CHARS = 320  # the longest e-mail address
MAX_CURSOR_CHARS = 512


def integer(
    args: Mapping[str, str],
    name: str,
    *,
    minimum: int = BIGINT_MIN,
    maximum: int = BIGINT_MAX,
) -> int | None:
    """Return an integer parameter within [minimum, maximum], or None when absent."""
    raw = args.get(name)
    if raw is None:
        return None
    return parse_integer(raw, name, minimum=minimum, maximum=maximum)


def parse_integer(
    raw: str, name: str, *, minimum: int = BIGINT_MIN, maximum: int = BIGINT_MAX
) -> int:
    text = raw.strip()
    if not text.lstrip("+-").isdigit() or len(text) > 20 or not text.isascii():
        raise InvalidQueryError(f"{name} must be an integer, not {raw[:40]!r}")
    value = int(text)
    if not minimum <= value <= maximum:
        raise InvalidQueryError(f"{name} must be between {minimum} and {maximum}")
    return value


def text(args: Mapping[str, str], name: str) -> str | None:
    """Return a text parameter, or None when absent."""
    raw = args.get(name)
    if raw is None:
        return None
    if len(raw) > MAX_TEXT_CHARS or "\x00" in raw:
        raise InvalidQueryError(f"{name} must be at most {MAX_TEXT_CHARS} characters, no NUL")
    return raw


def choice(args: Mapping[str, str], name: str, choices: Collection[str]) -> str | None:
    """Return one of ``choices`` (compared case-insensitively), or None when absent."""
    raw = args.get(name)
    if raw is None:
        return None
    by_folded = {c.casefold(): c for c in choices}
    try:
        return by_folded[raw.strip().casefold()]
    except KeyError:
        raise InvalidQueryError(
            f"{name} must be one of {', '.join(choices)}, not {raw[:40]!r}"
        ) from None


def instant(args: Mapping[str, str], name: str) -> datetime | None:
    """Return an ISO 8601 date-time (UTC when it has no offset), or None when absent."""
    raw = args.get(name)
    if raw is None:
        return None
    parsed = parse_instant(raw)
    if parsed is None:
        raise InvalidQueryError(
            f"{name} must be an ISO 8601 date-time such as 2024-07-16T17:26:54Z, not {raw[:40]!r}"
        )
    return parsed


def encode_cursor(value: str | int) -> str:
    """Return an opaque cursor for the last item of a page."""
    return base64.urlsafe_b64encode(f"{value}".encode()).decode().rstrip("=")


def decode_cursor(args: Mapping[str, str]) -> str | None:
    """Return the value inside the ``cursor`` parameter, or None when absent."""
    raw = args.get("cursor")
    if raw is None:
        return None
    if len(raw) > MAX_CURSOR_CHARS:
        raise InvalidQueryError("cursor is not one this API handed out")
    try:
        value = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, ValueError):
        raise InvalidQueryError("cursor is not one this API handed out") from None
    if not value or "\x00" in value:
        raise InvalidQueryError("cursor is not one this API handed out")
    return value


def provider_status(args: Mapping[str, str]) -> str | None:
    """Return the ``status`` filter: a provider's own event name as stored (Postmark's
    ``HardBounce``, SendGrid's ``dropped``); Infobip's statuses case-insensitively."""
    raw = text(args, "status")
    if raw is None:
        return None
    infobip = {s.casefold(): s for s in EVENT_STATUSES}.get(raw.strip().casefold())
    return infobip or raw.strip()


def callback_filter(args: Mapping[str, str]) -> CallbackFilter:
    """The event filters shared by ``GET /email-callbacks`` and the dashboard's events page."""
    email = text(args, "email")
    return CallbackFilter(
        qj_contact_id=integer(args, "qj_contact_id"),
        # Addresses are stored lower-cased (domain.parsing), so the filter is too.
        email=email.lower() if email is not None else None,
        status=provider_status(args),
        id_externo=text(args, "id_externo"),
        provider=choice(args, "provider", PROVIDER_NAMES),
        event_type=choice(args, "event_type", EVENT_TYPES),
        bounce_class=choice(args, "bounce_class", BOUNCE_CLASSES),
        since=instant(args, "since"),
        until=instant(args, "until"),
    )


def message_filter(args: Mapping[str, str], *, default_limit: int, max_limit: int) -> MessageFilter:
    """The filters of sent messages shared by ``GET /messages`` and the dashboard's messages
    page: ``batch_id``, ``qj_contact_id``, ``status``, ``email``, ``cursor``, ``limit``."""
    cursor = text(args, "cursor")
    limit = integer(args, "limit", minimum=1, maximum=max_limit)
    email = text(args, "email")
    return MessageFilter(
        batch_id=text(args, "batch_id"),
        qj_contact_id=integer(args, "qj_contact_id", minimum=0),
        status=choice(args, "status", SEND_STATES),
        # Addresses are stored lower-cased (domain.addresses), so the filter is too.
        email=email.strip().lower() if email is not None else None,
        before_id=parse_integer(cursor, "cursor", minimum=1) if cursor else None,
        limit=default_limit if limit is None else limit,
    )
