"""``POST /messages``: a request read, checked against the suppression list and committed to
the outbox before it is answered; ``Idempotency-Key`` honoured.

Nothing is kept for a refused request; an accepted one is in the outbox (with its answer, when
it came with a key) in one transaction before the 202 leaves.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.engine import is_transient
from emailhook.adapters.store import idempotency, outbox
from emailhook.adapters.store.idempotency import KeyState
from emailhook.adapters.store.suppressions import active_reasons_of
from emailhook.domain.clock import utcnow
from emailhook.domain.sending.expansion import expand
from emailhook.domain.sending.message import (
    Category,
    OutgoingMessage,
    SendRequest,
    SendState,
    new_public_id,
)
from emailhook.domain.sending.scope import blocking_reason
from emailhook.domain.sending.validation import (
    InvalidSendRequestError,
    parse_recipients,
    parse_send_request,
)
from emailhook.providers.sending import SendRules
from emailhook.service.errors import (
    ConflictError,
    IdempotencyMismatchError,
    InvalidRequestError,
    StorageUnavailableError,
)

log = logging.getLogger("emailhook.send")

#: longest ``Idempotency-Key`` taken (Stripe's limit)
MAX_KEY_CHARS = 255
#: a key left in flight this long (its process died before answering) may be taken again
ABANDONED_SECONDS = 300


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any]
    #: given again for a repeated ``Idempotency-Key``
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class AcceptPolicy:
    default_provider: str | None
    idempotency: timedelta
    soft_bounce_window: timedelta | None
    #: failover: the providers a request that names none may go through, in order (its
    #: first is ``default_provider``); empty or one: no failover
    route: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Prepared:
    """A checked request: the messages it makes, and the providers they may go through."""

    request: SendRequest
    route: tuple[str, ...]
    messages: list[OutgoingMessage]


class SendApi:
    """Accepts send requests into the outbox."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        sides: Mapping[str, SendRules],
        policy: AcceptPolicy,
        *,
        unsubscribe_headers: Callable[[str], dict[str, str]] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``sides``: the providers that can send, by name. ``unsubscribe_headers(public_id)``
        gives a marketing message its List-Unsubscribe headers (None: no public URL)."""
        self._sessions = sessions
        self._sides = sides
        self._policy = policy
        self._unsubscribe = unsubscribe_headers
        self._clock = clock

    def accept(self, body: object, raw: bytes, key: str | None = None) -> Answer:
        """Accept the request ``body`` (``raw``: its bytes, for the key's fingerprint).
        Raises StorageUnavailableError (503, retry) when the database is busy or down."""
        try:
            return self._accept_keyed(body, raw, key)
        except SQLAlchemyError as error:
            if not is_transient(error):
                raise
            raise StorageUnavailableError(
                "the database is busy or down; try again (with an Idempotency-Key, safely)"
            ) from error

    def _accept_keyed(self, body: object, raw: bytes, key: str | None) -> Answer:
        key_hash = hash_of_key(key)
        if key_hash is None:
            return self._accept(body, None)
        request_hash = hashlib.sha256(b"POST /messages\n" + raw).hexdigest()
        now = self._clock()
        with self._sessions.begin() as session:
            taken = idempotency.take(
                session,
                key_hash,
                request_hash,
                now=now,
                expired_before=now - self._policy.idempotency,
                abandoned_before=now - timedelta(seconds=ABANDONED_SECONDS),
            )
        if taken.state is KeyState.DONE:
            return Answer(taken.status_code or 202, taken.answer or {}, replayed=True)
        if taken.state is KeyState.IN_FLIGHT:
            raise ConflictError("a request with this Idempotency-Key is still being handled")
        if taken.state is KeyState.MISMATCH:
            raise IdempotencyMismatchError(
                "this Idempotency-Key was used with another request body"
            )
        try:
            return self._accept(body, key_hash)
        except BaseException:
            with self._sessions.begin() as session:  # nothing kept: the key may be used again
                idempotency.release(session, key_hash)
            raise

    def prepare(self, body: object, now: datetime) -> Prepared:
        """Return the messages ``body`` (a ``POST /messages`` body) makes, checked as
        ``POST /messages`` checks them, or raise InvalidRequestError with every field's
        errors. The campaigns' upload checks each chunk of its recipients so."""
        request = self._parse(body, now, self._policy.default_provider)
        return self._checked(request, self._route(body, request, now))

    def prepare_recipients(
        self, base: Prepared, recipients: list[Any], *, rendered: bool = True
    ) -> Prepared:
        """Return the messages of ``base``'s request to ``recipients`` instead (items of a
        body's ``to``), checked as ``prepare`` checks that body, or raise InvalidRequestError
        naming each bad one (``to[3].email``). A campaign's upload checks its message once
        (``base``) and each chunk of its recipients so, unrendered (``rendered`` False: the
        placeholders are rendered when each is sent; no provider's check reads the text)."""
        try:
            to = parse_recipients(recipients)
        except InvalidSendRequestError as error:
            raise InvalidRequestError("the request cannot be accepted", error.errors) from None
        return self._checked(replace(base.request, to=to), base.route, rendered=rendered)

    def _checked(
        self, request: SendRequest, route: tuple[str, ...], *, rendered: bool = True
    ) -> Prepared:
        """Return ``request``'s messages once every provider of ``route`` can carry each."""
        messages = expand(request, extra_headers=self._headers, rendered=rendered)
        problems = {
            f"to[{n}]": [why]
            for n, message in enumerate(messages)
            for name in route
            if (why := self._sides[name].check(message)) is not None
        }
        if problems:
            raise InvalidRequestError("the provider cannot carry some messages", problems)
        return Prepared(request, route, messages)

    def rows(self, session: Session, prepared: Prepared, now: datetime) -> list[outbox.NewMessage]:
        """Return the outbox rows of ``prepared``'s messages: suppressed (the list checked
        now), scheduled or queued."""
        suppressed = active_reasons_of(
            session,
            [m.to.email for m in prepared.messages],
            self._policy.soft_bounce_window,
            now,
        )
        return [
            self._row(m, prepared.request, suppressed, now, prepared.route)
            for m in prepared.messages
        ]

    def _accept(self, body: object, key_hash: str | None) -> Answer:
        now = self._clock()
        prepared = self.prepare(body, now)
        request = prepared.request
        batch_id = new_public_id("bat_")
        with self._sessions.begin() as session:
            rows = self.rows(session, prepared, now)
            outbox.add(session, batch_id, rows, now)
            answer = {
                "batch_id": batch_id,
                "messages": [_answer_item(row) for row in rows],
            }
            if key_hash is not None:
                idempotency.complete(session, key_hash, 202, answer, now)
        log.info(
            "accepted batch %s: %d messages (%d suppressed) for %s",
            batch_id,
            len(rows),
            sum(r.state is SendState.SUPPRESSED for r in rows),
            request.provider,
        )
        return Answer(202, answer)

    def _route(self, body: object, request: SendRequest, now: datetime) -> tuple[str, ...]:
        """Return the providers a message may go through: the one the request names, else the
        configured failover route, each of which must carry the request (checked as if it
        were the only one)."""
        named = isinstance(body, dict) and body.get("provider") is not None
        route = self._policy.route
        if named or len(route) < 2:
            return (request.provider,)
        for name in route[1:]:
            self._parse(body, now, name)
        return route

    def _parse(self, body: object, now: datetime, default: str | None) -> SendRequest:
        try:
            return parse_send_request(
                body,
                providers={name: side.features for name, side in self._sides.items()},
                default_provider=default,
                now=now,
            )
        except InvalidSendRequestError as error:
            raise InvalidRequestError("the request cannot be accepted", error.errors) from None

    def _headers(self, public_id: str, request: SendRequest) -> dict[str, str]:
        if request.category is Category.MARKETING and self._unsubscribe is not None:
            return self._unsubscribe(public_id)
        return {}

    @staticmethod
    def _row(
        message: OutgoingMessage,
        request: SendRequest,
        suppressed: Mapping[str, list[Any]],
        now: datetime,
        route: tuple[str, ...],
    ) -> outbox.NewMessage:
        reasons = [item.reason for item in suppressed.get(message.to.email, ())]
        blocking = blocking_reason(reasons, message.category)
        if blocking is not None:
            return outbox.NewMessage(
                message, request.provider, SendState.SUPPRESSED, now, blocking.value, route
            )
        if message.send_at is not None and message.send_at > now:
            return outbox.NewMessage(
                message, request.provider, SendState.SCHEDULED, message.send_at, route=route
            )
        return outbox.NewMessage(message, request.provider, SendState.QUEUED, now, route=route)


def hash_of_key(key: str | None) -> str | None:
    """Return an ``Idempotency-Key``'s SHA-256 (hex), None without one; refuse a malformed
    one (InvalidRequestError)."""
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
        raise InvalidRequestError(
            "invalid Idempotency-Key",
            {"Idempotency-Key": [f"1 to {MAX_KEY_CHARS} printable characters"]},
        )
    return hashlib.sha256(key.encode()).hexdigest()


def _answer_item(row: outbox.NewMessage) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": row.message.public_id,
        "to": row.message.to.email,
        "status": row.state.value,
    }
    if row.reason is not None:
        item["reason"] = row.reason
    if row.state is SendState.SCHEDULED:
        item["send_at"] = row.due_at.isoformat()
    return item


def forget_expired_keys(
    sessions: sessionmaker[Session], keep: timedelta, clock: Callable[[], datetime] = utcnow
) -> int:
    """Delete the ``Idempotency-Key`` records older than ``keep``; return how many."""
    with sessions.begin() as session:
        forgotten = idempotency.prune(session, clock() - keep)
    if forgotten:
        log.info("forgot %d Idempotency-Keys older than %s", forgotten, keep)
    return forgotten
