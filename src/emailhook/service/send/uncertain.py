"""Messages whose fate is uncertain (a call that may have reached the provider) are settled
before anything more is sent: by the provider's logs (``LOOKUP``), by resending under the
same idempotency key (``IDEMPOTENT``), or, where the provider can be asked nothing
(``NONE``), by dead-lettering rather than a blind second copy."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.http_send import AmbiguousError, NotSentError
from emailhook.adapters.store import held
from emailhook.adapters.store.held import Claimed
from emailhook.domain.sending.message import SendState
from emailhook.domain.sending.retries import Resolution, RetryPolicy, Verdict
from emailhook.service.send.dispatched import (
    Call,
    Dispatched,
    SendProvider,
    attempt_row,
    attempted_at,
    http_side,
)


class Uncertain:
    """Settles a task's uncertain messages; returns those to send."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        call: Call,
        policy: RetryPolicy,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._call = call
        self._policy = policy
        self._clock = clock

    def settle(
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
                    held.settle(
                        session,
                        item.message.public_id,
                        SendState.DEAD,
                        now=now,
                        reason="the provider may have it and cannot be asked: not sent again",
                    )
            done.dead += len(uncertain)
            return certain
        now = self._clock()
        early = [i for i in uncertain if self._policy.lookup_at(attempted_at(i)) > now]
        if early:  # the logs may not show it yet: ask when they will
            with self._sessions.begin() as session:
                for item in early:
                    held.settle(
                        session,
                        item.message.public_id,
                        SendState.SENDING,
                        now=now,
                        due_at=self._policy.lookup_at(attempted_at(item)),
                        reason="waiting to ask the provider whether it has it",
                    )
            done.uncertain += len(early)
        ask = [i for i in uncertain if i not in early]
        return certain + self._ask(provider, ask, done)

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
        lapsed = [i for i in items if (now - attempted_at(i)).total_seconds() >= window]
        if lapsed:
            reason = (
                f"uncertain, and the provider's idempotency key ({window:.0f} s) has lapsed:"
                " not sent again"
            )
            with self._sessions.begin() as session:
                for item in lapsed:
                    held.settle(
                        session, item.message.public_id, SendState.DEAD, now=now, reason=reason
                    )
            done.dead += len(lapsed)
        return [i for i in items if i not in lapsed]

    def _ask(
        self, provider: SendProvider, items: Sequence[Claimed], done: Dispatched
    ) -> list[Claimed]:
        """Ask the provider's logs about ``items``: settle those it has as sent; return the
        rest (never accepted: to send)."""
        if not items:
            return []
        ids = [i.message.public_id for i in items]
        name = provider.side.name
        started = time.monotonic()
        try:
            side = http_side(provider.side)
            found: dict[str, str] = {}
            for request in side.lookup(ids, provider.config):
                found.update(side.found(self._call(request)))
        except (NotSentError, AmbiguousError, ValueError) as error:
            now = self._clock()
            with self._sessions.begin() as session:
                for item in items:
                    verdict, due = self._policy.after_failure(now, item.attempts)
                    held.settle(
                        session,
                        item.message.public_id,
                        SendState.DEAD if verdict is Verdict.DEAD else SendState.SENDING,
                        now=now,
                        due_at=due,
                        reason=f"the provider could not be asked whether it has it: {error}",
                    )
                held.record_attempts(
                    session,
                    [
                        attempt_row(i, now, "lookup", "error", None, str(error), provider=name)
                        for i in ids
                    ],
                )
            done.uncertain += len(items)
            return []
        seconds = time.monotonic() - started
        now = self._clock()
        with self._sessions.begin() as session:
            for item in items:
                public_id = item.message.public_id
                if public_id in found:
                    held.settle(
                        session,
                        public_id,
                        SendState.SENT,
                        now=now,
                        provider_message_id=found[public_id],
                        reason="the provider's logs show it accepted",
                    )
            held.record_attempts(
                session,
                [
                    attempt_row(
                        i,
                        now,
                        "lookup",
                        "found" if i in found else "not_found",
                        200,
                        None,
                        provider=name,
                    )
                    | {"seconds": seconds}
                    for i in ids
                ],
            )
        done.sent += sum(i in found for i in ids)
        return [item for item in items if item.message.public_id not in found]
