"""Reading Infobip's fields (Tolerant Reader) and making its keys: one place for every
Infobip reader (reports, tracking events, blocklist events)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from emailhook.domain.addresses import stored_address


def derived_key(prefix: str, *parts: str | None) -> str:
    """Return ``prefix:`` and a blake2b-160 digest of ``parts`` joined by the unit separator."""
    joined = "\x1f".join(part or "" for part in parts)
    return f"{prefix}:{digest(joined.encode('utf-8', 'surrogatepass'))}"


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def mapping(value: object) -> Mapping[str, Any]:
    # ``type(...) is dict`` first: decoded JSON is always a dict, and the ABC check is slow.
    return value if type(value) is dict or isinstance(value, Mapping) else {}


def text(value: object) -> str | None:
    if type(value) is str:  # the common case, checked first: this runs ten times a report
        return value.strip() or None
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value).strip() or None


def upper(value: object) -> str | None:
    found = text(value)
    return found.upper() if found else None


def address(value: object) -> str | None:
    """Return the recipient by the one definition (``domain.addresses.stored_address``):
    lower-cased, as addresses are compared everywhere; text that is no address comes back as
    it came, and its event is set aside (``domain.recipients``)."""
    found = text(value)
    return stored_address(found) if found else None


def boolean(value: object) -> bool | None:
    return value if isinstance(value, bool) else None
