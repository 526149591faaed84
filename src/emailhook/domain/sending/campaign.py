"""A campaign's states, and its upload's first line read into the message and its rate.

The upload is JSON Lines: the first line is the message (``POST /messages``'s fields but
``to``, plus ``rate``), every other line one recipient (``to``'s item). Pure: the service
checks the message itself with ``validation.parse_send_request``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from emailhook.domain.sending.validation import InvalidSendRequestError

#: highest ``rate`` taken, messages a second (above every provider's own limit)
MAX_RATE = 10_000.0


class CampaignState(StrEnum):
    #: its recipients are being written: nothing of it is sent yet
    UPLOADING = "uploading"
    #: its due messages are sent
    RUNNING = "running"
    #: nothing more of it is sent until it is resumed
    PAUSED = "paused"
    #: its queued messages were cancelled; nothing more is sent
    CANCELLED = "cancelled"


#: the state ``GET /campaigns/<id>`` shows for a running campaign with nothing left to send
DONE = "done"


def read_header(line: object) -> tuple[dict[str, Any], float | None]:
    """Return the first line's message fields (without ``rate``) and its rate, or raise
    InvalidSendRequestError naming the field (the message's own fields are checked later)."""
    if not isinstance(line, dict):
        raise InvalidSendRequestError({"line 1": ["the message: a JSON object"]})
    fields = dict(line)
    if "to" in fields:
        raise InvalidSendRequestError(
            {"line 1.to": ["the recipients are the lines after the first, one a line"]}
        )
    rate = fields.pop("rate", None)
    if rate is None:
        return fields, None
    if (
        isinstance(rate, bool)
        or not isinstance(rate, int | float)
        or not math.isfinite(rate)
        or not 0 < rate <= MAX_RATE
    ):
        raise InvalidSendRequestError(
            {"line 1.rate": [f"messages a second: a number above 0, at most {MAX_RATE:g}"]}
        )
    return fields, float(rate)


def line_errors(
    errors: dict[str, list[str]], lines: Sequence[int], unit: str = "line"
) -> dict[str, list[str]]:
    """Return a chunk's errors with its ``to[n]...`` fields named by the upload's line
    instead (``lines[n]``): ``to[3].email`` is ``line 13.email`` when ``lines[3]`` is 13
    (``unit``: ``row`` for a CSV file's rows)."""
    out: dict[str, list[str]] = {}
    for key, problems in errors.items():
        where = key
        if key.startswith("to[") and "]" in key:
            index, _, rest = key[3:].partition("]")
            if index.isdigit() and int(index) < len(lines):
                where = f"{unit} {lines[int(index)]}{rest}"
        out.setdefault(where, []).extend(problems)
    return out
