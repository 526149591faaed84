"""Make decoded JSON storable in every supported database."""

from __future__ import annotations

from typing import Any

NUL_ESCAPE = b"\\u0000"


def scrub_nul(value: Any) -> Any:
    """Return ``value`` with NUL characters removed from every string and key.

    JSON may escape NUL as ``\\u0000``, but PostgreSQL text and JSONB cannot hold it: left in,
    such a body would fail to store on every attempt. The raw bytes stay untouched in the inbox.
    """
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {scrub_nul(k): scrub_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_nul(v) for v in value]
    return value
