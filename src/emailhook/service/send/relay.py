"""The send relay: publishes due messages of the outbox to the ``email-send`` queue, and again
when a publish was lost.

As on the receive side, the outbox and not the broker is the record of what must be sent: a
message is due when it is new, when its ``send_at`` or its retry's backoff has come, or when the
worker that held it ran past its bound. Due messages are published in tasks of at most one
provider request each (the send side's ``max_batch``), one provider per task, the
providers' tasks in turn. A paused or cancelled campaign's messages are not published; a
campaign with a rate has its messages published no faster than it (a token bucket in the
database, shared by every relay), so its sends follow at that pace. No more than a window of
messages is in the queue at once (published, not taken yet): a backlog the workers cannot
take before the redelivery bound waits in the outbox, rather than being published again and
again until dead-lettered.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.store import held, outbox_claims, send_rate
from emailhook.domain.clock import utcnow
from emailhook.domain.sending.message import SendState

log = logging.getLogger("emailhook.send.relay")

#: ``publish(public_ids)``: one task of the ``email-send`` queue
PublishSend = Callable[[list[str]], None]


@dataclass(frozen=True, slots=True)
class SendRelayPolicy:
    #: a published message still due this long after is published again
    redelivery_seconds: float
    #: messages claimed a pass
    claim_limit: int = 1000
    #: messages published and not taken yet at most: past it the relay waits for the
    #: workers, so a backlog stays in the outbox rather than in the queue, where each message
    #: would be published again every ``redelivery_seconds`` and dead-lettered after
    #: ``max_deliveries`` though no worker ever failed on it
    window: int = 1000
    poll_seconds: float = 0.2
    #: a message published this many times and never taken by a worker is dead-lettered
    max_deliveries: int = 20


class SendRelay:
    """Moves due outbox messages onto the send queue; several relays may run at once."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        publish: PublishSend,
        policy: SendRelayPolicy,
        batch_sizes: Mapping[str, int],
        clock: Callable[[], datetime] = utcnow,
        *,
        readers: sessionmaker[Session] | None = None,
    ) -> None:
        """``batch_sizes``: messages a task of each provider carries (its ``max_batch``).
        ``readers``, read-only sessions, look for due messages without the write transaction
        (on SQLite it holds the one write lock the receive side's stores wait for)."""
        self._sessions = sessions
        self._readers = readers or sessions
        self._publish = publish
        self._policy = policy
        self._sizes = batch_sizes
        self._clock = clock

    def run_once(self) -> int:
        """Publish what is due now; return how many messages were published."""
        now = self._clock()
        republish_before = now - timedelta(seconds=self._policy.redelivery_seconds)
        with self._readers.begin() as session:
            if not outbox_claims.any_due(session, now, republish_before):
                return 0
        with self._sessions.begin() as session:
            room = self._policy.window - outbox_claims.in_flight(
                session, republish_before=republish_before, limit=self._policy.window
            )
            claimed: list[outbox_claims.Due] = []
            if room > 0:
                claimed = outbox_claims.claim_due(
                    session,
                    now=now,
                    republish_before=republish_before,
                    limit=min(room, self._policy.claim_limit),
                )
                claimed += self._claim_paced(session, now, republish_before, room - len(claimed))
            worn = [d.public_id for d in claimed if d.deliveries > self._policy.max_deliveries]
            for public_id in worn:
                held.settle(
                    session,
                    public_id,
                    SendState.DEAD,
                    now=now,
                    reason=f"published {self._policy.max_deliveries} times and never sent:"
                    " a worker dies or hangs on it",
                )
        if worn:
            log.error("dead-lettered messages no worker completed: %s", worn)
        tasks = self._tasks([d for d in claimed if d.public_id not in set(worn)])
        published = 0
        for index, ids in enumerate(tasks):
            try:
                self._publish(ids)
            except Exception as error:  # broker down: the outbox keeps them due
                rest = [i for task in tasks[index:] for i in task]
                with self._sessions.begin() as session:
                    outbox_claims.release(session, rest)
                log.warning("publish failed, %d messages due again: %s", len(rest), error)
                break
            published += len(ids)
        return published

    def _claim_paced(
        self, session: Session, now: datetime, republish_before: datetime, room: int
    ) -> list[outbox_claims.Due]:
        """Claim the due messages of campaigns with a rate, as many as each one's bucket
        (``campaign:<id>``, a second of its rate at most) holds tokens, ``room`` at most."""
        claimed: list[outbox_claims.Due] = []
        if room <= 0:
            return claimed
        for campaign, rate, due in outbox_claims.paced_due(
            session, now=now, republish_before=republish_before, limit=room
        ):
            if len(claimed) >= room:
                break
            granted = send_rate.take_many(
                session,
                f"campaign:{campaign}",
                now=now,
                rate=rate,
                burst=max(1.0, rate),
                wanted=min(due, room - len(claimed)),
            )
            if granted:
                claimed += outbox_claims.claim_due(
                    session,
                    now=now,
                    republish_before=republish_before,
                    limit=granted,
                    campaign=campaign,
                )
        return claimed

    def _tasks(self, claimed: list[outbox_claims.Due]) -> list[list[str]]:
        by_provider: dict[str, list[outbox_claims.Due]] = defaultdict(list)
        for due in claimed:
            by_provider[due.provider].append(due)
        each: list[list[list[str]]] = []
        for provider, dues in by_provider.items():
            each.append(packed(dues, max(1, self._sizes.get(provider, 1))))
        # the providers' tasks taken in turn: a worker waits for its provider's token with
        # the task in hand, so a run of one provider's tasks would hold every worker while
        # the other providers' tokens go unused
        return [task for turn in itertools.zip_longest(*each) for task in turn if task]

    def run_forever(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set; never raises (errors are logged and retried)."""
        failures = 0
        while not stop.is_set():
            try:
                published = self.run_once()
                failures = 0
            except Exception:
                failures += 1
                log.exception("send relay pass failed (%d in a row)", failures)
                stop.wait(min(5.0, self._policy.poll_seconds * 2**failures))
                continue
            if published < self._policy.claim_limit:
                stop.wait(self._policy.poll_seconds)


def packed(dues: list[outbox_claims.Due], size: int) -> list[list[str]]:
    """Return the ids of ``dues`` in tasks of at most ``size``, in order, the messages of one
    uncertain call always in one task: where the provider's idempotency key is made from a
    request's message ids, they must go again together, with no other (the dispatcher
    rebuilds the request from them; a call was one request, so it fits in a task)."""
    units: dict[object, list[str]] = {}
    for index, due in enumerate(dues):
        units.setdefault(due.call if due.call is not None else index, []).append(due.public_id)
    tasks: list[list[str]] = []
    for unit in units.values():
        if not tasks or len(tasks[-1]) + len(unit) > size:
            tasks.append([])
        tasks[-1].extend(unit)
    return tasks
