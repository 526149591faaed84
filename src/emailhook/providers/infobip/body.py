"""Infobip's body checks before the 200: a JSON object, nested no deeper than the limit, of
a shape it sends (an unknown shape is kept, unrecognized, for an operator to look at)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from emailhook.domain.events import Shape
from emailhook.domain.masking import mask_email
from emailhook.providers.base import UnreadableBodyError

#: how many masked addresses the intake's DEBUG line shows before "+N more"
_LOGGED_ADDRESSES = 3


def decode_body(raw: bytes, *, max_depth: int) -> Mapping[str, Any]:
    """Return the body as a JSON object, or raise UnreadableBodyError saying what is wrong.

    orjson refuses invalid UTF-8 and lone surrogate escapes (``"\\ud800"``), so every string
    of an accepted body can be stored in any database.
    """
    if not raw.strip():
        raise UnreadableBodyError("the body is empty; expected a JSON object")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise UnreadableBodyError(_why_not_json(raw, error)) from error
    if not isinstance(body, dict):
        raise UnreadableBodyError(f"the body is a JSON {_json_type(body)}; expected a JSON object")
    # Fewer brackets than the limit cannot nest deeper: most bodies skip the walk.
    if raw.count(b"[") + raw.count(b"{") > max_depth and _depth_exceeds(body, max_depth):
        raise UnreadableBodyError(f"the body is nested deeper than {max_depth} levels")
    return body


def _depth_exceeds(value: object, limit: int) -> bool:
    """Return True when ``value`` nests more than ``limit`` arrays and objects.

    Iterative on purpose: recursion would be the very stack overflow a deep body aims at.
    """
    level: list[dict[str, Any] | list[Any]] = [value] if isinstance(value, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        children: list[dict[str, Any] | list[Any]] = []
        for container in level:
            items = container.values() if isinstance(container, dict) else container
            for item in items:
                if isinstance(item, (dict, list)):
                    children.append(item)
        level = children
    return False


def _why_not_json(raw: bytes, error: orjson.JSONDecodeError) -> str:
    # orjson calls every encoding error "surrogates not allowed": say what is really wrong
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"the body is not valid JSON: it is not valid UTF-8 (byte {bad.start})"
    return f"the body is not valid JSON: {error}"


def _json_type(value: object) -> str:
    names = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
    return names.get(type(value), "null")


def masked_recipients(body: Mapping[str, Any], shape: Shape) -> str:
    """Return the first recipients of a body, masked, for a DEBUG line."""
    if shape is Shape.DELIVERY_REPORTS:
        items = body["results"]
        shown = [_recipient(item) for item in items[:_LOGGED_ADDRESSES]]
        more = len(items) - len(shown)
        return ",".join(shown) + (f",+{more} more" if more > 0 else "")
    if shape in (Shape.BARE_REPORT, Shape.TRACKING_EVENT):
        return _recipient(body)
    return "-"


def _recipient(item: object) -> str:
    if not isinstance(item, Mapping):
        return "?"
    address = item.get("to", item.get("recipient"))
    return mask_email(address if isinstance(address, str) else None)
