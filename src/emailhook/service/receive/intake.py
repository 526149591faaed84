"""Accepting a webhook body: validate, keep it durably, and only then say yes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.inbox.bodies import add_bodies
from emailhook.domain.clock import utcnow
from emailhook.domain.events import Shape
from emailhook.domain.inbox import BodyState, NewBody, storable_request_id
from emailhook.domain.masking import mask_email
from emailhook.providers.base import Provider, UnreadableBodyError, WebhookRequest
from emailhook.providers.infobip.parsing import count_events, detect_shape
from emailhook.service.errors import InvalidBodyError, StorageUnavailableError

log = logging.getLogger("emailhook.intake")

#: how many masked addresses one log line shows before "+N more"
_LOGGED_ADDRESSES = 3


@dataclass(frozen=True, slots=True)
class Receipt:
    """What was accepted: the inbox id, the body's shape and how many events it carries."""

    #: the inbox id, when the body went straight into the inbox (a spooled body has none yet)
    body_id: int | None
    request_id: str | None
    shape: Shape
    events: int


class BodyWriter(Protocol):
    def write(self, body: NewBody, timeout: float) -> int | None:
        """Keep ``body`` durably and return its inbox id if it has one yet.

        Raises TimeoutError if that took too long, OSError or SQLAlchemyError if it failed.
        """
        ...


class SessionWriter:
    """One transaction per body: for tools and tests; the web process groups its commits."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    def write(self, body: NewBody, timeout: float) -> int:
        del timeout  # bounded by the engine's own lock timeout
        with self._sessions.begin() as session:
            return add_bodies(session, [body])[0]


class Intake:
    """Accepts bodies into the inbox; the relay moves them on to the queue."""

    def __init__(
        self,
        writer: BodyWriter,
        *,
        timeout: float,
        max_json_depth: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._writer = writer
        self._timeout = timeout
        self._clock = clock
        self._max_depth = max_json_depth

    def accept(self, raw: bytes, *, request_id: str | None = None) -> Receipt:
        """Keep ``raw`` durably and return its receipt, or raise a service error."""
        body = decode_body(raw, max_depth=self._max_depth)
        shape = detect_shape(body)
        events = count_events(body, shape)
        state = BodyState.UNRECOGNIZED if shape is Shape.UNKNOWN else BodyState.PENDING
        new = NewBody(
            raw, shape.value, events, state, self._clock(), storable_request_id(request_id)
        )
        body_id = self._write(new)
        if log.isEnabledFor(logging.DEBUG):  # a line per body is for debugging: metrics count them
            log.debug(
                "accepted body id=%s shape=%s events=%d to=%s",
                body_id,
                shape.value,
                events,
                _masked_recipients(body, shape),
            )
        return Receipt(body_id, new.request_id, shape, events)

    def accept_provider(
        self, provider: Provider, request: WebhookRequest, *, request_id: str | None = None
    ) -> Receipt:
        """Keep an authenticated provider body durably, with what its parsing needs (content
        type, ``kept_headers``); its events are counted by the provider's own parsing.

        Raises InvalidBodyError for a body that is not the provider's, StorageUnavailableError
        when it could not be kept.
        """
        try:
            events = provider.check_body(request)
        except UnreadableBodyError as error:
            raise InvalidBodyError(str(error)) from error
        stored = request.stored(provider.kept_headers)
        new = NewBody(
            request.body,
            Shape.PROVIDER.value,
            events,
            BodyState.PENDING,
            self._clock(),
            storable_request_id(request_id),
            provider=provider.name,
            content_type=stored.content_type or None,
            headers=dict(stored.headers),
        )
        body_id = self._write(new)
        log.debug("accepted %s body id=%s events=%d", provider.name, body_id, events)
        return Receipt(body_id, new.request_id, Shape.PROVIDER, events)

    def _write(self, new: NewBody) -> int | None:
        try:
            return self._writer.write(new, self._timeout)
        except (SQLAlchemyError, OSError) as error:  # TimeoutError is an OSError
            log.warning("body not kept, answering 503: %s", type(error).__name__)
            raise StorageUnavailableError("the body could not be stored; retry later") from error


def decode_body(raw: bytes, *, max_depth: int) -> Mapping[str, Any]:
    """Return the body as a JSON object, or raise InvalidBodyError saying what is wrong.

    orjson refuses invalid UTF-8 and lone surrogate escapes (``"\\ud800"``), so every string
    of an accepted body can be stored in any database.
    """
    if not raw.strip():
        raise InvalidBodyError("the body is empty; expected a JSON object")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidBodyError(_why_not_json(raw, error)) from error
    if not isinstance(body, dict):
        raise InvalidBodyError(f"the body is a JSON {_json_type(body)}; expected a JSON object")
    # Fewer brackets than the limit cannot nest deeper: most bodies skip the walk.
    if raw.count(b"[") + raw.count(b"{") > max_depth and _depth_exceeds(body, max_depth):
        raise InvalidBodyError(f"the body is nested deeper than {max_depth} levels")
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


def _masked_recipients(body: Mapping[str, Any], shape: Shape) -> str:
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
