"""Make decoded JSON storable in every supported database."""

from __future__ import annotations

import math
from typing import Any

NUL_ESCAPE = b"\\u0000"
#: Python prints no int longer than 4300 decimal digits (``sys.get_int_max_str_digits``), so
#: json.dumps cannot store one; a hex literal in callbackData (``0xfff...``) can be far longer.
_MAX_INT_BITS = 14_000


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


def json_safe(value: Any) -> Any:
    """Return ``value`` built only of JSON types, with strings every database can store.

    A Python-literal callbackData can hold sets, bytes, complex numbers, NaN, NUL characters,
    lone surrogates (``'\\udc00'``) or ints too long to print; none of them can be stored as
    JSON text, so each becomes its nearest storable form instead of failing the body on every
    attempt.
    """
    if isinstance(value, str):
        return _storable(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= _MAX_INT_BITS else hex(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {_storable(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    return _storable(repr(value))


def _storable(text: str) -> str:
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text
