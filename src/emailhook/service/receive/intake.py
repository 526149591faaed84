"""Accepting a webhook body: validate, keep it durably, and only then say yes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.inbox.bodies import add_bodies
from emailhook.domain.clock import utcnow
from emailhook.domain.events import Shape
from emailhook.domain.inbox import BodyState, NewBody, storable_request_id
from emailhook.providers.base import Provider, UnreadableBodyError, WebhookRequest
from emailhook.service.errors import InvalidBodyError, StorageUnavailableError

log = logging.getLogger("emailhook.intake")


@dataclass(frozen=True, slots=True)
class Receipt:
    """What was accepted: the inbox id, the body's shape and how many events it carries."""

    #: the inbox id, when the body went straight into the inbox (a spooled body has none yet)
    body_id: int | None
    request_id: str | None
    shape: Shape
    events: int


@dataclass(frozen=True, slots=True)
class Admission:
    """A body that passed validation, not kept yet: what to keep, and what to say once kept."""

    body: NewBody
    shape: Shape
    events: int
    #: the masked recipients for the DEBUG line, or None when that line is off
    recipients: str | None = None


class BodyWriter(Protocol):
    def write(self, body: NewBody, timeout: float) -> int | None:
        """Keep ``body`` durably and return its inbox id if it has one yet.

        Raises TimeoutError if that took too long, OSError or SQLAlchemyError if it failed.
        """
        ...

    async def write_async(self, body: NewBody, timeout: float) -> int | None:
        """``write`` for a coroutine: the same guarantee, awaited instead of slept on."""
        ...


class SessionWriter:
    """One transaction per body: for tools and tests; the web process groups its commits."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    def write(self, body: NewBody, timeout: float) -> int:
        del timeout  # bounded by the engine's own lock timeout
        with self._sessions.begin() as session:
            return add_bodies(session, [body])[0]

    async def write_async(self, body: NewBody, timeout: float) -> int:
        return self.write(body, timeout)


class Intake:
    """Accepts bodies into the inbox; the relay moves them on to the queue.

    Accepting is two steps, so that a thread and a coroutine share everything but the wait:
    ``admit`` validates (and raises what the sender is answered), then ``keep`` (a thread
    sleeps until the body is durable) or ``keep_async`` (a coroutine awaits it).
    """

    def __init__(
        self,
        writer: BodyWriter,
        *,
        timeout: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._writer = writer
        self._timeout = timeout
        self._clock = clock

    def accept_provider(
        self, provider: Provider, request: WebhookRequest, *, request_id: str | None = None
    ) -> Receipt:
        """Keep an authenticated provider body durably (``admit_provider``, then ``keep``)."""
        return self.keep(self.admit_provider(provider, request, request_id=request_id))

    def admit_provider(
        self, provider: Provider, request: WebhookRequest, *, request_id: str | None = None
    ) -> Admission:
        """Return an authenticated provider body ready to be kept, with what its parsing needs
        (content type, ``kept_headers``); its events are counted by the provider's own parsing.

        Raises InvalidBodyError for a body that is not the provider's.
        """
        try:
            checked = provider.check_body(request)
        except UnreadableBodyError as error:
            raise InvalidBodyError(str(error)) from error
        # a body of a shape its provider does not send is kept for an operator, not parsed
        state = BodyState.UNRECOGNIZED if checked.shape is Shape.UNKNOWN else BodyState.PENDING
        stored = request.stored(provider.kept_headers) if provider.keeps_request else None
        new = NewBody(
            request.body,
            checked.shape.value,
            checked.events,
            state,
            self._clock(),
            storable_request_id(request_id),
            provider=provider.name,
            content_type=(stored.content_type or None) if stored else None,
            headers=dict(stored.headers) if stored else {},
        )
        # a line per body is for debugging: metrics count them
        describe = checked.recipients if log.isEnabledFor(logging.DEBUG) else None
        return Admission(new, checked.shape, checked.events, describe() if describe else None)

    def keep(self, admission: Admission) -> Receipt:
        """Keep an admitted body durably and return its receipt; this thread waits meanwhile.

        Raises StorageUnavailableError when it could not be kept.
        """
        try:
            body_id = self._writer.write(admission.body, self._timeout)
        except (SQLAlchemyError, OSError) as error:  # TimeoutError is an OSError
            raise _unavailable(error) from error
        return _receipt(admission, body_id)

    async def keep_async(self, admission: Admission) -> Receipt:
        """``keep`` for a coroutine: it awaits the body's group commit, holding no thread."""
        try:
            body_id = await self._writer.write_async(admission.body, self._timeout)
        except (SQLAlchemyError, OSError) as error:
            raise _unavailable(error) from error
        return _receipt(admission, body_id)


def _unavailable(error: Exception) -> StorageUnavailableError:
    log.warning("body not kept, answering 503: %s", type(error).__name__)
    return StorageUnavailableError("the body could not be stored; retry later")


def _receipt(admission: Admission, body_id: int | None) -> Receipt:
    new = admission.body
    if admission.recipients is not None:
        log.debug(
            "accepted body id=%s shape=%s events=%d to=%s",
            body_id,
            admission.shape.value,
            admission.events,
            admission.recipients,
        )
    else:
        log.debug("accepted %s body id=%s events=%d", new.provider, body_id, admission.events)
    return Receipt(body_id, new.request_id, admission.shape, admission.events)
