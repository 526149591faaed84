"""The send worker's task: take due messages, settle the uncertain ones, check the suppression
list again, call the provider at the shared pace, and record what it answered.

Nothing is sent twice: a message is moved to ``sending`` and its attempt counted before the
provider call, so that a worker that dies mid-call, a timeout after the request was written or
a lost answer leaves a message whose fate is *uncertain*. An uncertain message is sent again
only after the provider's logs, asked by our message id, say it never got it (``LOOKUP``); a
provider that cannot be asked (``NONE``) gets no second copy: the message is dead-lettered
with the reason.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.http_send import AmbiguousError, NotSentError
from emailhook.adapters.store import outbox, send_rate
from emailhook.adapters.store.outbox import Claimed
from emailhook.adapters.store.suppressions import active_reasons_of
from emailhook.domain.clock import utcnow
from emailhook.domain.sending.message import OutgoingMessage, SendState
from emailhook.domain.sending.retries import Resolution, RetryPolicy, Verdict
from emailhook.domain.sending.scope import blocking_reason
from emailhook.providers.sending import (
    HttpAnswer,
    HttpRequest,
    Outcome,
    RecipientResult,
    SendConfig,
    SendRules,
    SendSide,
)

log = logging.getLogger("emailhook.send")

Call = Callable[[HttpRequest], HttpAnswer]
#: a provider's own transport (SMTP): sends the messages of one request and returns one
#: result per message, each classified by what the provider can have seen (it never raises
#: for a message's fate: a connection lost before a message is RETRY, after it UNKNOWN)
Deliver = Callable[[Sequence[OutgoingMessage], SendConfig], list[RecipientResult]]
#: the longest a worker sleeps at once for a token (it takes again after)
_MAX_TOKEN_WAIT = 1.0
#: how long a bucket is held after a 429 that named no Retry-After
_DEFAULT_PAUSE = 1.0


@dataclass(frozen=True, slots=True)
class SendProvider:
    """A provider configured to send: its send side, its settings, its pace."""

    side: SendRules
    config: SendConfig
    #: requests a second, shared by every worker (None: unpaced)
    rate: float | None
    #: the shared bucket's name (one per account)
    bucket: str
    #: the provider's own transport when it does not speak HTTP (SMTP); None: HTTP, the
    #: side's ``prepare``/``parse`` around the dispatcher's ``call``
    deliver: Deliver | None = None


@dataclass(slots=True)
class Dispatched:
    """What one task did, for the metrics and the task's result."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    suppressed: int = 0
    dead: int = 0
    uncertain: int = 0
    #: seconds each provider call took
    calls: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "retried": self.retried,
            "suppressed": self.suppressed,
            "dead": self.dead,
            "uncertain": self.uncertain,
        }


class Dispatcher:
    """Sends the messages a task names; safe to run twice, or at once, on the same ids."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        providers: Mapping[str, SendProvider],
        call: Call,
        policy: RetryPolicy,
        *,
        call_timeout: float,
        soft_bounce_window: timedelta | None,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sessions = sessions
        self._providers = providers
        self._call = call
        self._policy = policy
        self._hold = timedelta(seconds=2 * call_timeout + policy.lookup_grace_seconds + 30)
        self._window = soft_bounce_window
        self._clock = clock
        self._sleep = sleep

    def close(self) -> None:
        """Close the provider connections (``call``'s, where it has any)."""
        close = getattr(self._call, "close", None)
        if close is not None:
            close()

    def send(self, public_ids: Sequence[str]) -> Dispatched:
        done = Dispatched()
        now = self._clock()
        held_until = now + self._hold
        with self._sessions.begin() as session:
            taken = outbox.take(session, public_ids, now=now, hold_until=held_until)
        by_provider: dict[str, list[Claimed]] = defaultdict(list)
        for item in taken:
            by_provider[item.provider].append(item)
        for name, items in by_provider.items():
            provider = self._providers.get(name)
            if provider is None:  # configured when accepted, not in this worker: wait
                self._defer(items, f"the provider {name} is not configured in this worker")
                done.retried += len(items)
                continue
            sendable = self._settle_uncertain(provider, items, done)
            sendable = self._unsuppressed(sendable, done)
            for request in _requests(provider.side, sendable):
                self._send(provider, request, done)
        return done

    # -- before the call -------------------------------------------------------------------

    def _settle_uncertain(
        self, provider: SendProvider, items: Sequence[Claimed], done: Dispatched
    ) -> list[Claimed]:
        """Return the messages to send: those never tried, and the uncertain ones the
        provider says it never got; settle the rest."""
        certain = [i for i in items if not i.uncertain]
        uncertain = [i for i in items if i.uncertain]
        if not uncertain:
            return certain
        resolution = provider.side.resolution
        if resolution is Resolution.IDEMPOTENT:
            return certain + self._within_key(provider, uncertain, done)
        if resolution is Resolution.NONE:
            now = self._clock()
            with self._sessions.begin() as session:
                for item in uncertain:
                    outbox.settle(
                        session,
                        item.message.public_id,
                        SendState.DEAD,
                        now=now,
                        reason="the provider may have it and cannot be asked: not sent again",
                    )
            done.dead += len(uncertain)
            return certain
        now = self._clock()
        early = [i for i in uncertain if self._policy.lookup_at(_at(i)) > now]
        if early:  # the logs may not show it yet: ask when they will
            with self._sessions.begin() as session:
                for item in early:
                    outbox.settle(
                        session,
                        item.message.public_id,
                        SendState.SENDING,
                        now=now,
                        due_at=self._policy.lookup_at(_at(item)),
                        reason="waiting to ask the provider whether it has it",
                    )
            done.uncertain += len(early)
        ask = [i for i in uncertain if i not in early]
        return certain + self._lookup(provider, ask, done)

    def _within_key(
        self, provider: SendProvider, items: Sequence[Claimed], done: Dispatched
    ) -> list[Claimed]:
        """Return the uncertain ``items`` whose idempotency key still stands; dead-letter the
        rest. A provider whose key lapses (Brevo's, 30 minutes) says for how long after an
        attempt a resend under it is safe (``idempotency_seconds``); past that a resend could
        be a second copy. Keys that do not lapse in time (Resend's 24 h) name none."""
        window = getattr(provider.side, "idempotency_seconds", None)
        if window is None:
            return list(items)
        now = self._clock()
        lapsed = [i for i in items if (now - _at(i)).total_seconds() >= window]
        if lapsed:
            reason = (
                f"uncertain, and the provider's idempotency key ({window:.0f} s) has lapsed:"
                " not sent again"
            )
            with self._sessions.begin() as session:
                for item in lapsed:
                    outbox.settle(
                        session, item.message.public_id, SendState.DEAD, now=now, reason=reason
                    )
            done.dead += len(lapsed)
        return [i for i in items if i not in lapsed]

    def _lookup(
        self, provider: SendProvider, items: Sequence[Claimed], done: Dispatched
    ) -> list[Claimed]:
        """Ask the provider's logs about ``items``: settle those it has as sent; return the
        rest (never accepted: to send)."""
        if not items:
            return []
        ids = [i.message.public_id for i in items]
        started = time.monotonic()
        try:
            side = _http(provider.side)
            found: dict[str, str] = {}
            for request in side.lookup(ids, provider.config):
                found.update(side.found(self._call(request)))
        except (NotSentError, AmbiguousError, ValueError) as error:
            now = self._clock()
            with self._sessions.begin() as session:
                for item in items:
                    verdict, due = self._policy.after_failure(now, item.attempts)
                    outbox.settle(
                        session,
                        item.message.public_id,
                        SendState.DEAD if verdict is Verdict.DEAD else SendState.SENDING,
                        now=now,
                        due_at=due,
                        reason=f"the provider could not be asked whether it has it: {error}",
                    )
                outbox.record_attempts(
                    session, [_attempt(i, now, "lookup", "error", None, str(error)) for i in ids]
                )
            done.uncertain += len(items)
            return []
        seconds = time.monotonic() - started
        now = self._clock()
        with self._sessions.begin() as session:
            for item in items:
                public_id = item.message.public_id
                if public_id in found:
                    outbox.settle(
                        session,
                        public_id,
                        SendState.SENT,
                        now=now,
                        provider_message_id=found[public_id],
                        reason="the provider's logs show it accepted",
                    )
            outbox.record_attempts(
                session,
                [
                    _attempt(i, now, "lookup", "found" if i in found else "not_found", 200, None)
                    | {"seconds": seconds}
                    for i in ids
                ],
            )
        done.sent += sum(i in found for i in ids)
        return [item for item in items if item.message.public_id not in found]

    def _unsuppressed(self, items: Sequence[Claimed], done: Dispatched) -> list[Claimed]:
        """Return ``items`` less those suppressed since they were accepted (a bounce or an
        unsubscribe may have come in between), which end ``suppressed``."""
        if not items:
            return []
        now = self._clock()
        out: list[Claimed] = []
        with self._sessions.begin() as session:
            active = active_reasons_of(
                session, [i.message.to.email for i in items], self._window, now
            )
            for item in items:
                reasons = [a.reason for a in active.get(item.message.to.email, ())]
                blocking = blocking_reason(reasons, item.message.category)
                if blocking is None:
                    out.append(item)
                    continue
                outbox.settle(
                    session,
                    item.message.public_id,
                    SendState.SUPPRESSED,
                    now=now,
                    reason=blocking.value,
                )
                done.suppressed += 1
        return out

    def _defer(self, items: Iterable[Claimed], reason: str) -> None:
        now = self._clock()
        with self._sessions.begin() as session:
            for item in items:
                _, due = self._policy.after_failure(now, 1)
                outbox.settle(
                    session,
                    item.message.public_id,
                    SendState.QUEUED,
                    now=now,
                    due_at=due,
                    reason=reason,
                )
        log.warning("%s", reason)

    # -- the call ----------------------------------------------------------------------------

    def _send(self, provider: SendProvider, items: Sequence[Claimed], done: Dispatched) -> None:
        self._wait_for_token(provider)
        now = self._clock()
        with self._sessions.begin() as session:
            held = outbox.started(
                session,
                [i.message.public_id for i in items],
                now,
                held_until=items[0].held_until,
                hold_until=now + self._hold,
            )
        if len(held) < len(items):  # held past the hold while waiting: another worker has them
            log.warning(
                "%d messages taken over by another worker: not sent here", len(items) - len(held)
            )
            items = [i for i in items if i.message.public_id in held]
            if not items:
                return
        messages = [i.message for i in items]
        if provider.deliver is not None:
            started = time.monotonic()
            results = provider.deliver(messages, provider.config)
            seconds = time.monotonic() - started
            done.calls.append(seconds)
            self._record(items, results, None, seconds, done)
            return
        side = _http(provider.side)
        try:
            request = side.prepare(messages, provider.config)
        except ValueError as error:  # a message the provider cannot carry (checked on accept)
            self._record(items, [_failed(m, str(error)) for m in messages], None, None, done)
            return
        started = time.monotonic()
        answer: HttpAnswer | None = None
        try:
            answer = self._call(request)
            results = side.parse(answer, messages)
        except NotSentError as error:
            results = [
                RecipientResult(m.public_id, Outcome.RETRY, reason=str(error)) for m in messages
            ]
        except AmbiguousError as error:
            results = [
                RecipientResult(m.public_id, Outcome.UNKNOWN, reason=str(error)) for m in messages
            ]
        seconds = time.monotonic() - started
        done.calls.append(seconds)
        if answer is not None and answer.status == 429:
            pause = next((r.retry_after for r in results if r.retry_after), None)
            with self._sessions.begin() as session:
                send_rate.slow_down(
                    session,
                    provider.bucket,
                    now=self._clock(),
                    pause_seconds=pause or _DEFAULT_PAUSE,
                )
        self._record(items, results, answer, seconds, done)

    def _wait_for_token(self, provider: SendProvider) -> None:
        if provider.rate is None:
            return
        while True:
            with self._sessions.begin() as session:
                took = send_rate.take_token(
                    session,
                    provider.bucket,
                    now=self._clock(),
                    rate=provider.rate,
                    burst=max(1.0, provider.rate),
                )
            if took.granted:
                return
            self._sleep(min(_MAX_TOKEN_WAIT, took.wait_seconds))

    def _record(
        self,
        items: Sequence[Claimed],
        results: Sequence[RecipientResult],
        answer: HttpAnswer | None,
        seconds: float | None,
        done: Dispatched,
    ) -> None:
        now = self._clock()
        by_id = {r.public_id: r for r in results}
        status = answer.status if answer is not None else None
        attempts = []
        accepted: list[tuple[str, str]] = []
        with self._sessions.begin() as session:
            for item in items:
                public_id = item.message.public_id
                result = by_id.get(public_id) or RecipientResult(
                    public_id, Outcome.UNKNOWN, reason="not in the provider's answer"
                )
                if result.outcome is Outcome.ACCEPTED:  # the common case: settled together
                    accepted.append((public_id, result.provider_message_id or public_id))
                else:
                    self._settle_one(session, item, result, now, done)
                attempts.append(
                    _attempt(public_id, now, "send", result.outcome.value, status, result.reason)
                    | {"seconds": seconds}
                )
            outbox.settle_sent(session, accepted, now)
            done.sent += len(accepted)
            outbox.record_attempts(session, attempts)

    def _settle_one(
        self,
        session: Session,
        item: Claimed,
        result: RecipientResult,
        now: datetime,
        done: Dispatched,
    ) -> None:
        public_id = item.message.public_id
        attempts = item.attempts + 1
        if result.outcome in (Outcome.REJECTED, Outcome.FAILED):
            outbox.settle(session, public_id, SendState.FAILED, now=now, reason=result.reason)
            done.failed += 1
        elif result.outcome is Outcome.RETRY:
            verdict, due = self._policy.after_failure(now, attempts, result.retry_after)
            state = SendState.DEAD if verdict is Verdict.DEAD else SendState.QUEUED
            outbox.settle(session, public_id, state, now=now, due_at=due, reason=result.reason)
            done.dead += verdict is Verdict.DEAD
            done.retried += verdict is Verdict.RETRY
        else:  # UNKNOWN: the provider may have it; ask before anything more
            if attempts >= self._policy.max_attempts:
                outbox.settle(
                    session,
                    public_id,
                    SendState.DEAD,
                    now=now,
                    reason=f"uncertain after {attempts} attempts: {result.reason}",
                )
                done.dead += 1
                return
            outbox.settle(
                session,
                public_id,
                SendState.SENDING,
                now=now,
                due_at=self._policy.lookup_at(now),
                reason=f"uncertain: {result.reason}",
            )
            done.uncertain += 1


def _requests(side: SendRules, items: Sequence[Claimed]) -> list[list[Claimed]]:
    """Split ``items`` into requests: messages that share request-level options, at most the
    provider's batch each, and never two to one address (Mailgun keys a batch's
    per-recipient variables by address). Where the provider's idempotency key is the
    request's (Resend's, made from its message ids), uncertain messages go again with
    those of their first request (the call that began at the same time) and no others:
    the same request, the same key."""
    groups: dict[Hashable, list[Claimed]] = defaultdict(list)
    for item in items:
        again = item.uncertain and side.resolution is Resolution.IDEMPOTENT
        groups[(side.request_key(item.message), item.attempted_at if again else None)].append(item)
    size = max(1, side.max_batch)
    requests: list[list[Claimed]] = []
    for group in groups.values():
        # requests not yet full, each with its addresses: an address seen again goes to the
        # first that lacks it (in order, so a group of distinct addresses is sliced as before)
        filling: list[tuple[list[Claimed], set[str]]] = []
        for item in group:
            address = item.message.to.email.lower()
            slot = next((s for s in filling if address not in s[1]), None)
            if slot is None:
                slot = ([], set())
                filling.append(slot)
                requests.append(slot[0])
            slot[0].append(item)
            slot[1].add(address)
            if len(slot[0]) >= size:
                filling.remove(slot)
    return requests


def _http(side: SendRules) -> SendSide:
    """Return ``side`` as an HTTP send side (a provider with its own transport has none)."""
    if not isinstance(side, SendSide):
        raise TypeError(f"{side.name} sends through its own transport, not over HTTP")
    return side


def _at(item: Claimed) -> datetime:
    assert item.attempted_at is not None
    return item.attempted_at


def _failed(message: OutgoingMessage, reason: str) -> RecipientResult:
    return RecipientResult(message.public_id, Outcome.FAILED, reason=reason)


def _attempt(
    public_id: str,
    at: datetime,
    action: str,
    outcome: str,
    http_status: int | None,
    reason: str | None,
) -> dict[str, Any]:
    return {
        "public_id": public_id,
        "at": at,
        "action": action,
        "outcome": outcome,
        "http_status": http_status,
        "reason": reason[:2000] if reason else None,
        "seconds": None,
    }
