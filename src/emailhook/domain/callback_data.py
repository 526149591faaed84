"""``callbackData``: the sender's own ids, echoed back by Infobip as untrusted text."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

import orjson

from emailhook.domain.scrub import json_safe

#: Infobip accepts up to 4000 characters on send; anything much larger did not come from us.
MAX_CALLBACK_DATA_CHARS = 8192
#: The range of a PostgreSQL BIGINT: an id outside it is not an id we sent.
_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1


def parse_callback_data(value: object) -> dict[str, Any] | None:
    """Return callbackData as a dict, or None when it is absent, free text or too large.

    Seen encodings: a JSON object in a string (``delivered.json``), a Python-repr dict with
    single quotes (``delivered_dict.json``), or, in newer API versions, an object.
    """
    if isinstance(value, Mapping):
        return json_safe(dict(value))  # type: ignore[no-any-return]
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text.startswith("{") or len(text) > MAX_CALLBACK_DATA_CHARS:
        return None
    try:
        parsed: object = orjson.loads(text)
    except orjson.JSONDecodeError:
        parsed = _python_literal(text)
    return json_safe(parsed) if isinstance(parsed, dict) else None


def _python_literal(text: str) -> object:
    # literal_eval never executes code; the size cap above bounds its time and memory, and
    # the errors below are every way a hostile literal can fail (deep nesting, huge ints).
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def as_int(value: object) -> int | None:
    """Return an id as int: ints and numeric strings are accepted, anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        stripped = value.strip()
        if len(stripped) > 20:
            return None
        try:
            number = int(stripped)
        except ValueError:  # "--5", "²": isdigit() accepts what int() does not
            return None
    else:
        return None
    return number if _BIGINT_MIN <= number <= _BIGINT_MAX else None


def as_text(value: object) -> str | None:
    """Return a scalar callbackData value as text (``"13"`` and ``13`` are the same creditor)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


#: The callbackData fields that get columns of their own; the rest stay in ``callback_data``.
CONTACT_ID_FIELD = "qj_contact_id"
CAMPAIGN_FIELD = "qj_approach_flow_campaign"
CREDITOR_ID_FIELD = "qj_creditor_id"
CREDITOR_NAME_FIELD = "qj_creditor_name"


def callback_fields(value: object) -> dict[str, Any]:
    """Return the event fields of the sender's metadata (Infobip's ``callbackData``, another
    provider's custom args or tags): ``qj_contact_id`` and the other columns, the whole as
    ``callback_data``, and the text as sent when it came as text."""
    data = parse_callback_data(value)
    fields = data or {}
    raw = value if isinstance(value, str) else None
    return {
        "qj_contact_id": as_int(fields.get(CONTACT_ID_FIELD)),
        "campaign": as_text(fields.get(CAMPAIGN_FIELD)),
        "creditor_id": as_text(fields.get(CREDITOR_ID_FIELD)),
        "creditor_name": as_text(fields.get(CREDITOR_NAME_FIELD)),
        "callback_data": data,
        "callback_data_raw": raw,
    }


def sent_fields(
    metadata: Mapping[str, Any],
) -> tuple[int | None, str | None, str | None, str | None]:
    """Return the columns ``callback_fields`` gives of the metadata of a message we send (a
    mapping of scalars, as the send API takes it): ``qj_contact_id``, campaign, creditor id
    and name, each made storable alone rather than the whole copied (a campaign writes a
    million)."""
    return (
        as_int(json_safe(metadata.get(CONTACT_ID_FIELD))),
        as_text(json_safe(metadata.get(CAMPAIGN_FIELD))),
        as_text(json_safe(metadata.get(CREDITOR_ID_FIELD))),
        as_text(json_safe(metadata.get(CREDITOR_NAME_FIELD))),
    )
