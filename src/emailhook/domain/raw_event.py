"""The raw event kept once: what the columns do not already hold, and the whole given back.

An event's row holds most of its raw item in columns (``messageId`` in ``id_externo``, the
status and error objects in theirs, ``callbackData`` parsed in ``callback_data``). Keeping the
raw item whole as well kept each of those twice, and ``callbackData`` three times (the long
Python-literal text of ``delivered_dict.json``, its parsed object, and the raw item's copy):
more than half of an event's bytes. ``rest`` is the raw item less every field that a column
gives back exactly; ``restore`` puts them back.

A field is left out only when the column gives back the very same JSON value (type included:
``"to": "Joao@X"`` stays, since ``email`` is lower-cased; a numeric ``messageId`` stays, since
``id_externo`` is text). Before a rest is kept, ``rest`` checks that ``restore`` gives back the
raw item exactly (as canonical JSON); when it would not, the raw item is kept whole under
``WHOLE``. Key order is not kept (PostgreSQL's JSONB never kept it).

Only Infobip's raw items are kept as a rest (``_FIELDS`` by provider and kind): the other
providers' raw items share no field with Infobip's paths, and a rest that restores only by
luck is no saving; they are kept whole, as sent, and ``restore`` gives them back as they are.

``callbackData`` text is given back from ``callback_data`` when one of the encodings senders
use writes it again character for character (``CALLBACK_ENCODINGS``: Python's ``repr`` of the
dict with non-ASCII as ``\\uXXXX``, seen in ``delivered_dict.json``; ``json.dumps``, seen in
``delivered.json``; JSON with only characters past the BMP escaped, ``suppressed_bounce.json``),
and an object when it came as one; the rest then says which, under ``CALLBACK_FORM``. Only the
encodings of the text's own quoting are tried: each costs a full encode (28 us an event for a
``delivered_dict`` report in all, against 114 us to parse it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

#: key of a rest that is the whole raw item (``restore`` would not have given it back)
WHOLE = "~whole"
#: key saying how ``callbackData`` is written again from ``callback_data``
CALLBACK_FORM = "~cd"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


_ABOVE_ASCII = re.compile("[^\x00-\x7f]")
_ABOVE_BMP = re.compile("[\U00010000-\U0010ffff]")


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _escape(text: str, pattern: re.Pattern[str]) -> str:
    """Write the characters ``pattern`` finds as JSON's \\uXXXX (surrogate pairs past the BMP)."""
    return text if text.isascii() else pattern.sub(_json_escape, text)


#: how ``callbackData`` text is written from its parsed dict, by the letter kept in the rest
CALLBACK_ENCODINGS: dict[str, Callable[[dict[str, Any]], str]] = {
    "j": json.dumps,  #: JSON, default separators, ASCII: delivered.json
    "r": repr,  #: Python's str(dict)
    #: Python's str(dict), non-ASCII as \\uXXXX: delivered_dict.json ("voc\\u00ea")
    "a": lambda data: _escape(repr(data), _ABOVE_ASCII),
    "u": lambda data: json.dumps(data, ensure_ascii=False),  #: JSON, not ASCII-escaped
    #: JSON, only past the BMP escaped: suppressed_bounce.json (its emoji as a surrogate pair)
    "b": lambda data: _escape(json.dumps(data, ensure_ascii=False), _ABOVE_BMP),
}

Columns = Mapping[str, Any]


def _millis(value: datetime | None) -> int | None:
    return None if value is None else (value - _EPOCH) // _MILLISECOND


#: (field path in the raw item, the EmailEvent field it is read back from) of each kind;
#: ``sent_at_millis`` is ``sent_at`` as the epoch milliseconds of ``sendDateTime``
_REPORT: list[tuple[tuple[str, ...], str]] = [
    (("messageId",), "message_id"),
    (("to",), "email"),
    (("bulkId",), "bulk_id"),
    (("status", "id"), "status_id"),
    (("status", "groupId"), "status_group_id"),
    (("status", "groupName"), "status"),
    (("status", "name"), "status_name"),
    (("status", "description"), "status_description"),
    (("error", "id"), "error_id"),
    (("error", "name"), "error_name"),
    (("error", "description"), "error_description"),
    (("error", "permanent"), "error_permanent"),
]
_TRACKING: list[tuple[tuple[str, ...], str]] = [
    (("notificationType",), "status"),
    (("messageId",), "message_id"),
    (("recipient",), "email"),
    (("bulkId",), "bulk_id"),
    (("eventId",), "provider_event_id"),
    (("url",), "url"),
    (("sendDateTime",), "sent_at_millis"),
]
#: the fields of each (provider, kind) whose raw items are kept as a rest; any other
#: provider's raw item is kept whole, as sent (its fields are not Infobip's)
_FIELDS = {("infobip", "delivery_report"): _REPORT, ("infobip", "tracking"): _TRACKING}
#: the EmailEvent fields that ``rest`` and ``restore`` read
COLUMNS = (
    *sorted({column for fields in _FIELDS.values() for _, column in fields} - {"sent_at_millis"}),
    "sent_at",
    "callback_data",
)


def _same(a: object, b: object) -> bool:
    # JSON equality, type included: 1, 1.0 and True are different JSON values.
    return type(a) is type(b) and a == b


def _canonical(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _readable(columns: Columns) -> dict[str, Any]:
    found = dict(columns)
    found["sent_at_millis"] = _millis(columns.get("sent_at"))
    return found


def rest(raw: Mapping[str, Any], provider: str, kind: str, columns: Columns) -> dict[str, Any]:
    """Return what of ``raw`` the ``columns`` (EmailEvent field names) do not give back.

    A provider without fields here keeps its raw item whole (``restore`` gives it back as is).
    """
    fields = _FIELDS.get((provider, kind))
    if fields is None:
        return dict(raw)
    values = _readable(columns)
    left: dict[str, Any] = {key: dict(v) if type(v) is dict else v for key, v in raw.items()}
    for path, column in fields:
        value = values.get(column)
        if value is None:
            continue
        holder: Any = left
        for key in path[:-1]:
            holder = holder.get(key) if type(holder) is dict else None
        if type(holder) is dict and path[-1] in holder and _same(holder[path[-1]], value):
            del holder[path[-1]]
    for key in ("status", "error"):
        if left.get(key) == {} and raw.get(key) != {}:
            del left[key]
    _strip_callback_data(left, columns.get("callback_data"))
    if _canonical(restore(left, provider, kind, columns)) != _canonical(raw):
        return {WHOLE: dict(raw)}
    return left


def _strip_callback_data(left: dict[str, Any], parsed: dict[str, Any] | None) -> None:
    if parsed is None or "callbackData" not in left:
        return
    sent = left["callbackData"]
    if type(sent) is dict:
        if _canonical(sent) == _canonical(parsed):
            del left["callbackData"]
            left[CALLBACK_FORM] = "o"
        return
    if type(sent) is not str:
        return
    # Only the encodings of the text's own quoting are tried: each costs a full encode.
    quoting = "jub" if sent.startswith('{"') else "ra" if sent.startswith("{'") else ""
    for letter in quoting:
        if CALLBACK_ENCODINGS[letter](parsed) == sent:
            del left["callbackData"]
            left[CALLBACK_FORM] = letter
            return


def restore(left: Mapping[str, Any], provider: str, kind: str, columns: Columns) -> dict[str, Any]:
    """Return the raw item whose ``rest`` is ``left``, given the same provider, kind and
    ``columns``."""
    fields = _FIELDS.get((provider, kind))
    if fields is None:
        return dict(left)
    if WHOLE in left:
        whole = left[WHOLE]
        return dict(whole) if isinstance(whole, Mapping) else {}
    values = _readable(columns)
    raw: dict[str, Any] = {}
    for path, column in fields:
        value = values.get(column)
        if value is None:
            continue
        holder = raw
        for key in path[:-1]:
            holder = holder.setdefault(key, {})
        holder[path[-1]] = value
    for key, value in left.items():
        if key == CALLBACK_FORM:
            continue
        if type(value) is dict and type(raw.get(key)) is dict:
            raw[key] = {**raw[key], **value}  # what the rest kept wins
        else:
            raw[key] = value
    form, parsed = left.get(CALLBACK_FORM), columns.get("callback_data")
    if form is not None and parsed is not None:
        encode = CALLBACK_ENCODINGS.get(str(form))
        raw["callbackData"] = dict(parsed) if form == "o" else encode(parsed) if encode else None
    return raw
