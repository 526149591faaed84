"""The relay: publishes accepted bodies to the queue, and again when a message was lost.

The inbox, not the broker, is the record of what must be processed. A body is due when it is
new, when its last publish is older than the redelivery delay (the broker lost the message, or
the worker died on it) or when its retry backoff ran out. The relay claims due bodies, publishes
their ids in batches, and keeps the broker's queue short by bounding what is in flight.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.inbox import bodies as inbox
from emailhook.adapters.inbox import claims
from emailhook.domain.clock import utcnow
from emailhook.domain.inbox import Claimed

log = logging.getLogger("emailhook.relay")

Publish = Callable[[list[int]], None]


@dataclass(frozen=True, slots=True)
class RelayPolicy:
    """How the relay batches and paces its publishes (``Settings`` holds the defaults)."""

    batch_bodies: int
    batch_events: int
    max_in_flight_messages: int
    redelivery_seconds: float
    max_deliveries: int
    poll_seconds: float
    #: how far apart idle passes grow (doubling from ``poll_seconds``)
    idle_poll_seconds: float = 0.4
    #: how soon a body whose publish failed is tried again
    publish_retry_seconds: float = 1.0


class Relay:
    """Moves due inbox bodies onto the queue; several relays may run at once."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        publish: Publish,
        policy: RelayPolicy,
        clock: Callable[[], datetime] = utcnow,
        *,
        readers: sessionmaker[Session] | None = None,
    ) -> None:
        """``readers``, read-only sessions, let a pass that finds nothing to claim go without
        the write transaction: on SQLite every write transaction holds the one write lock,
        which the worker's stores wait for (measured: a relay polling 20 times a second held
        it for 18% of a drain)."""
        self._sessions = session_factory
        self._readers = readers
        #: set to end an idle wait at once (bodies just moved in, or the relay stopping)
        self._nudged = threading.Event()
        self._idle = True
        self._publish = publish
        self._policy = policy
        self._clock = clock

    def run_once(self) -> int:
        """Publish what is due now; return how many bodies were published."""
        policy = self._policy
        now = self._clock()
        # After a pass that claimed bodies, more are likely due: straight to the claim.
        if self._readers is not None and self._idle and not self._worth_claiming(now):
            return 0
        with self._sessions.begin() as session:
            room = self._room(session, now)
            if room <= 0:
                self._idle = True
                return 0
            claimed = claims.claim_due(
                session,
                now=now,
                until=now + timedelta(seconds=policy.redelivery_seconds),
                limit=min(room, policy.batch_bodies * 2),
            )
            worn_out = [c.id for c in claimed if c.deliveries > policy.max_deliveries]
            if worn_out:
                inbox.mark_dead(
                    session,
                    worn_out,
                    error=f"published {policy.max_deliveries} times without being stored: "
                    "the worker dies or hangs on it",
                    now=now,
                )
                log.error("dead-lettered bodies that never completed: %s", worn_out)
        publishable = [c for c in claimed if c.deliveries <= policy.max_deliveries]
        batches = self._batches(publishable)
        published = 0
        for index, batch in enumerate(batches):
            try:
                self._publish(batch)
            except Exception as error:  # broker down or silent: the inbox keeps the bodies
                rest = [body_id for unsent in batches[index:] for body_id in unsent]
                self._release(rest)
                log.warning("publish failed, %d bodies due again soon: %s", len(rest), error)
                break
            published += len(batch)
        self._idle = not claimed
        return published

    def _worth_claiming(self, now: datetime) -> bool:
        """True when, as far as a read sees, a body is due and the queue has room for it.

        Only a hint: the claim itself checks again in its write transaction.
        """
        assert self._readers is not None
        with self._readers.begin() as session:
            return self._room(session, now) > 0 and claims.any_due(session, now)

    def _room(self, session: Session, now: datetime) -> int:
        """How many more bodies may be in flight: the queue is kept short."""
        policy = self._policy
        return policy.max_in_flight_messages * policy.batch_bodies - claims.count_in_flight(
            session, now
        )

    def nudge(self) -> None:
        """End the relay's wait now: bodies were just moved into the inbox (or it stops)."""
        self._nudged.set()

    def run_forever(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set (then :meth:`nudge` it); never raises (errors are
        logged and retried)."""
        policy = self._policy
        failures = 0
        pause = policy.poll_seconds
        while not stop.is_set():
            try:
                published = self.run_once()
                failures = 0
            except Exception:
                failures += 1
                log.exception("relay pass failed (%d in a row)", failures)
                stop.wait(min(5.0, policy.poll_seconds * 2**failures))
                continue
            if published >= policy.batch_bodies:
                pause = policy.poll_seconds
                continue
            # Passes that find nothing come further apart, up to idle_poll_seconds: an idle
            # pass is a read transaction, twenty a second a few % of a core for nothing.
            pause = policy.poll_seconds if published else min(pause * 2, policy.idle_poll_seconds)
            self._nudged.wait(pause)
            self._nudged.clear()

    def _batches(self, claimed: Sequence[Claimed]) -> list[list[int]]:
        batches: list[list[int]] = []
        current: list[int] = []
        events = 0
        for item in claimed:
            too_many = len(current) >= self._policy.batch_bodies
            too_big = current and events + item.event_count > self._policy.batch_events
            if too_many or too_big:
                batches.append(current)
                current, events = [], 0
            current.append(item.id)
            events += item.event_count
        if current:
            batches.append(current)
        return batches

    def _release(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        when = self._clock() + timedelta(seconds=self._policy.publish_retry_seconds)
        with self._sessions.begin() as session:
            claims.release(session, ids, available_at=when)
