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
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    SendSide,
)

log = logging.getLogger("emailhook.send")

Call = Callable[[HttpRequest], HttpAnswer]
#: the longest a worker sleeps at once for a token (it takes again after)
_MAX_TOKEN_WAIT = 1.0
#: how long a bucket is held after a 429 that named no Retry-After
_DEFAULT_PAUSE = 1.0
#: the share of the rate the bucket gives up to make up a late worker's lag (``_pace``)
_LAG_SHARE = 0.04
#: seconds by which requests granted in order may arrive closer together at the provider
#: (the commit, the network): the (limit + 1)th of a second is granted that much after it
_JITTER = 0.03


@dataclass(frozen=True, slots=True)
class SendProvider:
    """A provider configured to send: its send side, its settings, its pace."""

    side: SendSide
    config: SendConfig
    #: requests a second, shared by every worker (None: unpaced)
    rate: float | None
    #: the shared bucket's name (one per account)
    bucket: str


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
            size = max(1, provider.side.max_batch)
            for start in range(0, len(sendable), size):
                self._send(provider, sendable[start : start + size], held_until, done)
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
            return certain + uncertain
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
            found: dict[str, str] = {}
            for request in provider.side.lookup(ids, provider.config):
                found.update(provider.side.found(self._call(request)))
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

    def _send(
        self,
        provider: SendProvider,
        items: Sequence[Claimed],
        held_until: datetime,
        done: Dispatched,
    ) -> None:
        messages = [i.message for i in items]
        try:
            request = provider.side.prepare(messages, provider.config)
        except ValueError as error:  # a message the provider cannot carry (checked on accept)
            self._record(items, [_failed(m, str(error)) for m in messages], None, None, done)
            return
        mine = self._start_call(provider, [m.public_id for m in messages], held_until)
        if len(mine) < len(items):  # the wait outlived the hold: another worker took some
            log.warning(
                "%d messages taken by another worker during the wait for a token: left to it",
                len(items) - len(mine),
            )
            items = [i for i in items if i.message.public_id in mine]
            messages = [i.message for i in items]
            if not items:
                return
            request = provider.side.prepare(messages, provider.config)
        started = time.monotonic()
        answer: HttpAnswer | None = None
        try:
            answer = self._call(request)
            results = provider.side.parse(answer, messages)
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

    def _start_call(
        self, provider: SendProvider, public_ids: Sequence[str], held_until: datetime
    ) -> set[str]:
        """Wait for a token of the provider's shared bucket, then count the call for those of
        ``public_ids`` still held (``outbox.started``); return them.

        The token and the count are one transaction, so the request leaves as soon as its
        token is granted: the time between them is what spreads the requests the provider
        counts. The bucket is paced by ``_pace``: no second sees more than the rate.
        """
        while True:
            with self._sessions.begin() as session:
                took = None
                if provider.rate is not None:
                    rate, burst = _pace(provider.rate)
                    took = send_rate.take_token(
                        session, provider.bucket, clock=self._clock, rate=rate, burst=burst
                    )
                if took is None or took.granted:
                    now = self._clock()
                    return set(
                        outbox.started(
                            session,
                            public_ids,
                            now,
                            held_until=held_until,
                            hold_until=now + self._hold,
                        )
                    )
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


def _pace(limit: float) -> tuple[float, float]:
    """Return the (rate, burst) of a bucket that never grants more than ``limit`` requests
    in any second, allowing for ``_JITTER`` of variation on the way to the provider, and
    loses little to the workers' lag.

    A bucket of rate r and burst b grants fewer than b + r tokens in any second. With the
    limit's rate and one token it never exceeds the limit, but a worker that takes its token
    late loses the lateness (93 % of the limit achieved on a busy 2-core machine, 14 ms late
    a token); so it runs ``_LAG_SHARE`` under the limit and keeps what the bound leaves as
    burst: floor(limit) + 1 tokens, less r x ``_JITTER``, in all.
    """
    rate = limit * (1 - _LAG_SHARE)
    return rate, max(1.0, math.floor(limit) + 1 - rate * (1 + _JITTER))


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
