"""A provider's answer recorded: each message settled by its outcome (sent, rejected, failed,
retried with backoff or dead-lettered, uncertain until the provider is asked) and each attempt
kept. A recipient the provider refused is also an event of that provider: its own suppression
list's refusal suppresses the address here too, through the receive side's one path."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.store import held
from emailhook.adapters.store.held import Claimed
from emailhook.domain.events import EmailEvent
from emailhook.domain.sending.message import SendState
from emailhook.domain.sending.retries import RetryPolicy, Verdict
from emailhook.domain.suppression import SoftBounceRule
from emailhook.domain.vocabulary import EventType, RejectReason
from emailhook.providers.sending import HttpAnswer, Outcome, RecipientResult
from emailhook.service.send.dispatched import Dispatched, attempt_row
from emailhook.service.send.own_events import message_event, store


class Recorder:
    """Settles the messages of one call from its results."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        policy: RetryPolicy,
        clock: Callable[[], datetime],
        soft_bounces: SoftBounceRule,
    ) -> None:
        """``soft_bounces``: the rule the stored refusals' derived state follows."""
        self._sessions = sessions
        self._policy = policy
        self._clock = clock
        self._soft_bounces = soft_bounces

    def record(
        self,
        items: Sequence[Claimed],
        results: Sequence[RecipientResult],
        answer: HttpAnswer | None,
        seconds: float | None,
        done: Dispatched,
        *,
        provider: str | None = None,
    ) -> None:
        """Settle ``items`` by their ``results`` from one call of ``provider``."""
        now = self._clock()
        by_id = {r.public_id: r for r in results}
        status = answer.status if answer is not None else None
        attempts = []
        accepted: list[tuple[str, str]] = []
        refusals: list[EmailEvent] = []
        with self._sessions.begin() as session:
            for item in items:
                public_id = item.message.public_id
                result = by_id.get(public_id) or RecipientResult(
                    public_id, Outcome.UNKNOWN, reason="not in the provider's answer"
                )
                if result.outcome is Outcome.ACCEPTED:  # the common case: settled together
                    accepted.append((public_id, result.provider_message_id or public_id))
                elif result.outcome is Outcome.REJECTED:
                    refusals.append(_refusal(item, result, provider or item.provider, now))
                    held.settle(
                        session, public_id, SendState.REJECTED, now=now, reason=result.reason
                    )
                    done.rejected += 1
                else:
                    self._settle_one(session, item, result, now, done)
                attempts.append(
                    attempt_row(
                        public_id,
                        now,
                        "send",
                        result.outcome.value,
                        status,
                        result.reason,
                        provider=provider,
                    )
                    | {"seconds": seconds}
                )
            held.settle_sent(session, accepted, now)
            done.sent += len(accepted)
            held.record_attempts(session, attempts)
            store(session, refusals, now, self._soft_bounces)

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
        if result.outcome is Outcome.FAILED:
            held.settle(session, public_id, SendState.FAILED, now=now, reason=result.reason)
            done.failed += 1
        elif result.outcome is Outcome.RETRY:
            verdict, due = self._policy.after_failure(now, attempts, result.retry_after)
            state = SendState.DEAD if verdict is Verdict.DEAD else SendState.QUEUED
            held.settle(session, public_id, state, now=now, due_at=due, reason=result.reason)
            done.dead += verdict is Verdict.DEAD
            done.retried += verdict is Verdict.RETRY
        else:  # UNKNOWN: the provider may have it; ask before anything more
            if attempts >= self._policy.max_attempts:
                held.settle(
                    session,
                    public_id,
                    SendState.DEAD,
                    now=now,
                    reason=f"uncertain after {attempts} attempts: {result.reason}",
                )
                done.dead += 1
                return
            held.settle(
                session,
                public_id,
                SendState.SENDING,
                now=now,
                due_at=self._policy.lookup_at(now),
                reason=f"uncertain: {result.reason}",
            )
            done.uncertain += 1


def _refusal(item: Claimed, result: RecipientResult, provider: str, now: datetime) -> EmailEvent:
    """The provider's refusal of ``item``'s recipient, as that provider's event of it."""
    message = item.message
    bounced = result.bounce_class is not None
    return message_event(
        provider=provider,
        key="refused",
        public_id=message.public_id,
        email=message.to.email,
        metadata=message.metadata,
        event_type=EventType.BOUNCED if bounced else EventType.REJECTED,
        status="BOUNCED" if bounced else "REJECTED",
        at=now,
        raw={"refused_at_send": True, "reason": result.reason},
        bounce_class=result.bounce_class,
        reject_reason=None if bounced else result.reject_reason or RejectReason.OTHER,
        description=result.reason,
    )
