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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.http_send import AmbiguousError, NotSentError
from emailhook.adapters.store import held, send_rate
from emailhook.adapters.store.held import Claimed
from emailhook.adapters.store.suppressions import active_reasons_of
from emailhook.domain.clock import utcnow
from emailhook.domain.sending.circuit import Circuit
from emailhook.domain.sending.message import SendState
from emailhook.domain.sending.retries import Resolution, RetryPolicy
from emailhook.domain.sending.scope import blocking_reason
from emailhook.domain.sending.token_bucket import pace
from emailhook.domain.suppression import SoftBounceRule
from emailhook.providers.sending import HttpAnswer, Outcome, RecipientResult
from emailhook.service.send.circuit_book import CircuitBook
from emailhook.service.send.dispatched import (
    Call,
    CircuitPolicy,
    Deliver,
    Dispatched,
    SendProvider,
    failed_result,
    http_side,
    requests_of,
)
from emailhook.service.send.recording import Recorder
from emailhook.service.send.uncertain import Uncertain

__all__ = ["Call", "CircuitPolicy", "Deliver", "Dispatched", "Dispatcher", "SendProvider"]

log = logging.getLogger("emailhook.send")

#: the longest a worker sleeps at once for a token (it takes again after)
_MAX_TOKEN_WAIT = 1.0
#: how long a bucket is held after a 429 that named no Retry-After
_DEFAULT_PAUSE = 1.0


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
        soft_bounces: SoftBounceRule,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        circuit: CircuitPolicy | None = None,
        hold_margin_seconds: float = 30.0,
    ) -> None:
        """``circuit``: when a provider's circuit opens and closes (default: 5 failures in a
        row, 60 s); ``hold_margin_seconds``: how long a hold on taken messages outlasts the
        call's own bound."""
        self._sessions = sessions
        self._providers = providers
        self._call = call
        self._policy = policy
        self._hold = timedelta(
            seconds=2 * call_timeout + policy.lookup_grace_seconds + hold_margin_seconds
        )
        self._window = soft_bounces.suppress_for
        self._clock = clock
        self._sleep = sleep
        self._uncertain = Uncertain(sessions, call, policy, clock)
        self._circuits = CircuitBook(sessions, circuit or CircuitPolicy(), clock)
        self._recorder = Recorder(sessions, policy, clock, soft_bounces)

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
            taken = held.take(session, public_ids, now=now, hold_until=held_until)
            states = self._circuits.read(
                session, {p for item in taken for p in (item.provider, *item.route)}
            )
        by_provider: dict[str, list[Claimed]] = defaultdict(list)
        for item in taken:
            by_provider[item.provider].append(item)
        for name in list(by_provider):
            if states[name].is_open(now):
                self._fail_over(name, by_provider, states, now)
        for name, items in by_provider.items():
            provider = self._providers.get(name)
            if provider is None:  # configured when accepted, not in this worker: wait
                self._defer(items, f"the provider {name} is not configured in this worker")
                done.retried += len(items)
                continue
            sendable = self._uncertain.settle(provider, items, done)
            # A message that may be with the provider goes again under its call's key with
            # the rest of that call, whatever was suppressed since: dropping one would change
            # a key made from the request's ids and make the others a second copy; if the
            # provider has the call, it answers it again and sends nothing.
            if provider.side.resolution is Resolution.IDEMPOTENT:
                again = [i for i in sendable if i.uncertain]
                fresh = [i for i in sendable if not i.uncertain]
                sendable = again + self._unsuppressed(fresh, done)
            else:
                sendable = self._unsuppressed(sendable, done)
            for request in requests_of(provider.side, sendable):
                self._send(provider, request, done)
        return done

    def _fail_over(
        self,
        name: str,
        by_provider: dict[str, list[Claimed]],
        states: Mapping[str, Circuit],
        now: datetime,
    ) -> None:
        """Move the messages of ``name`` (its circuit open) that no provider may have yet to
        the next provider of their route whose circuit is closed and that this worker can
        use. A message whose last call was ambiguous stays: it is settled with ``name``
        first, never sent by another provider beside a copy that may exist. What stays is
        sent to ``name`` as usual (with one provider, or all open, the call is the probe; its
        failures back off as any)."""
        moved: dict[str, list[Claimed]] = defaultdict(list)
        kept: list[Claimed] = []
        for item in by_provider[name]:
            after = item.route[item.route.index(name) + 1 :] if name in item.route else ()
            target = next(
                (p for p in after if p in self._providers and not states[p].is_open(now)), None
            )
            if item.uncertain or target is None:
                kept.append(item)
            else:
                moved[target].append(replace(item, provider=target))
        if not moved:
            return
        with self._sessions.begin() as session:
            for target, items in moved.items():
                held.reroute(session, [i.message.public_id for i in items], target, now)
                by_provider[target].extend(items)
                log.warning(
                    "circuit of %s open: %d messages fail over to %s", name, len(items), target
                )
        by_provider[name] = kept

    # -- before the call -------------------------------------------------------------------

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
                held.settle(
                    session,
                    item.message.public_id,
                    SendState.SUPPRESSED,
                    now=now,
                    reason=blocking.value,
                )
                done.suppressed += 1
        return out

    def _defer(self, items: Iterable[Claimed], reason: str, until: datetime | None = None) -> None:
        now = self._clock()
        with self._sessions.begin() as session:
            for item in items:
                due = until or self._policy.after_failure(now, 1)[1]
                held.settle(
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
        held = self._start_call(provider, [i.message.public_id for i in items], items[0].held_until)
        if len(held) < len(items):  # held past the hold while waiting: another worker has them
            log.warning(
                "%d messages taken over by another worker: not sent here", len(items) - len(held)
            )
            items = [i for i in items if i.message.public_id in held]
            if not items:
                return
        messages = [i.message for i in items]
        name = provider.side.name
        if provider.deliver is not None:
            started = time.monotonic()
            results = provider.deliver(messages, provider.config)
            seconds = time.monotonic() - started
            done.calls.append(seconds)
            reached = any(r.outcome not in (Outcome.RETRY, Outcome.UNKNOWN) for r in results)
            self._circuits.record(name, ok=reached)
            self._recorder.record(items, results, None, seconds, done, provider=name)
            return
        side = http_side(provider.side)
        try:
            request = side.prepare(messages, provider.config)
        except ValueError as error:  # a message the provider cannot carry (checked on accept)
            self._recorder.record(
                items, [failed_result(m, str(error)) for m in messages], None, None, done
            )
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
        # a provider failure: no answer, or a 5xx (a 429 is pacing, a 4xx the request's fault)
        self._circuits.record(name, ok=answer is not None and answer.status < 500)
        if answer is not None and answer.status == 429:
            pause = next((r.retry_after for r in results if r.retry_after), None)
            with self._sessions.begin() as session:
                send_rate.slow_down(
                    session,
                    provider.bucket,
                    now=self._clock(),
                    pause_seconds=pause or _DEFAULT_PAUSE,
                )
        self._recorder.record(items, results, answer, seconds, done, provider=name)

    def _start_call(
        self, provider: SendProvider, public_ids: Sequence[str], held_until: datetime
    ) -> set[str]:
        """Wait for a token of the provider's shared bucket, then count the call for those of
        ``public_ids`` still held (``held.started``); return them.

        The token and the count are one transaction, so the request leaves as soon as its
        token is granted: the time between them is what spreads the requests the provider
        counts. The bucket is paced by ``token_bucket.pace``: no second sees more than the rate.
        """
        while True:
            with self._sessions.begin() as session:
                took = None
                if provider.rate is not None:
                    rate, burst = pace(provider.rate)
                    took = send_rate.take_token(
                        session, provider.bucket, clock=self._clock, rate=rate, burst=burst
                    )
                if took is None or took.granted:
                    now = self._clock()
                    return set(
                        held.started(
                            session,
                            public_ids,
                            now,
                            held_until=held_until,
                            hold_until=now + self._hold,
                        )
                    )
            self._sleep(min(_MAX_TOKEN_WAIT, took.wait_seconds))
