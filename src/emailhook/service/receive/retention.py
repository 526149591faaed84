"""Retention: what is deleted once older than its setting, each independently of the others.

- processed inbox bodies past ``EMAILHOOK_INBOX_RETENTION_DAYS`` (and dead-lettered or
  unrecognized ones past ``EMAILHOOK_FAILED_BODY_RETENTION_DAYS``): ``adapters.intake.retention``;
- events' raw rests past ``EMAILHOOK_RAW_EVENT_RETENTION_DAYS``: ``adapters.store.raw_retention``;
- events past ``EMAILHOOK_EVENT_RETENTION_DAYS``: ``adapters.store.event_retention``.

The use case over those (the SQL, in small batches): the cutoffs from the settings and the
clock, the counts of a dry run, the metrics of what went. Derived state, suppressions and the
rollup are never touched; a pruned body can no longer be replayed (``Operations.replay``
refuses it by name), and ``state rebuild`` says what it cannot rebuild once events are pruned.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.batches import BATCH
from emailhook.adapters.inbox import retention
from emailhook.adapters.inbox.retention import Pruned
from emailhook.adapters.store import event_retention, raw_retention
from emailhook.domain.clock import utcnow


class Retention:
    """Prunes processed bodies processed more than ``days`` ago (and, with ``failed_days``,
    dead-lettered and unrecognized bodies received more than that ago), raw rests past
    ``raw_days`` and events past ``event_days``; each None keeps its rows for ever, whatever
    the others are."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        days: int | None,
        *,
        failed_days: int | None = None,
        batch: int = BATCH,
        pause_seconds: float = 0.0,
        clock: Callable[[], datetime] = utcnow,
        on_pruned: Callable[[int], None] = lambda bodies: None,
        raw_days: int | None = None,
        on_raw_pruned: Callable[[int], None] = lambda events: None,
        event_days: int | None = None,
        on_events_pruned: Callable[[int], None] = lambda events: None,
    ) -> None:
        self._keep_events = timedelta(days=event_days) if event_days else None
        self._on_events_pruned = on_events_pruned
        self._keep_raw = timedelta(days=raw_days) if raw_days else None
        self._on_raw_pruned = on_raw_pruned
        self._sessions = sessions
        self._keep = timedelta(days=days) if days else None
        self._keep_failed = timedelta(days=failed_days) if failed_days else None
        self._batch = batch
        self._pause = pause_seconds
        self._clock = clock
        self._on_pruned = on_pruned

    def cutoff(self) -> datetime | None:
        """Return the time before which a processed body is pruned (None: kept for ever)."""
        return None if self._keep is None else self._clock() - self._keep

    def prunes_bodies(self) -> bool:
        """Return True when some bodies have a retention (processed or failed ones)."""
        return self._keep is not None or self._keep_failed is not None

    def failed_cutoff(self) -> datetime | None:
        """Return the time before which a failed body is pruned (None: kept until replayed)."""
        return None if self._keep_failed is None else self._clock() - self._keep_failed

    def prunable(self, before: datetime | None) -> int:
        """Return how many bodies a prune with ``before`` would delete."""
        with self._sessions.begin() as session:
            return retention.prunable(session, before, self.failed_cutoff())

    def prune(
        self,
        before: datetime | None = None,
        *,
        on_batch: Callable[[int], None] = lambda bodies: None,
    ) -> Pruned:
        """Delete the bodies processed before ``before`` (default: the cutoff), and the failed
        ones past their own retention; ``on_batch(n)`` after each transaction."""
        if before is None and not self.prunes_bodies():
            return Pruned(0, 0)
        done = retention.prune(
            self._sessions,
            before or self.cutoff(),
            failed_before=self.failed_cutoff(),
            batch=self._batch,
            pause_seconds=self._pause,
            on_batch=on_batch,
        )
        if done.bodies:
            self._on_pruned(done.bodies)
        return done

    def raw_cutoff(self) -> datetime | None:
        """Return the receipt time before which an event's raw rest is dropped (None: kept)."""
        return None if self._keep_raw is None else self._clock() - self._keep_raw

    def raw_prunable(self, before: datetime) -> int:
        """Return how many events a raw-rest prune with ``before`` would strip."""
        with self._sessions.begin() as session:
            return raw_retention.prunable(session, before)

    def prune_raw(
        self,
        before: datetime | None = None,
        *,
        on_batch: Callable[[int], None] = lambda events: None,
    ) -> int:
        """Drop the raw rest of events received before ``before`` (default: the raw cutoff;
        nothing while no raw retention is set); return how many."""
        cut = before or self.raw_cutoff()
        if cut is None:
            return 0
        done = raw_retention.prune(
            self._sessions, cut, batch=self._batch, pause_seconds=self._pause, on_batch=on_batch
        )
        if done:
            self._on_raw_pruned(done)
        return done

    def event_cutoff(self) -> datetime | None:
        """Return the receipt time before which an event is deleted (None: kept for ever)."""
        return None if self._keep_events is None else self._clock() - self._keep_events

    def events_prunable(self, before: datetime) -> int:
        """Return how many events a prune with ``before`` would delete."""
        with self._sessions.begin() as session:
            return event_retention.prunable(session, before)

    def prune_events(
        self,
        before: datetime | None = None,
        *,
        on_batch: Callable[[int], None] = lambda events: None,
    ) -> int:
        """Delete the events received before ``before`` (default: the event cutoff; nothing
        while no event retention is set), recording the prune; return how many. Derived
        state, suppressions and the rollup keep what they made."""
        cut = before or self.event_cutoff()
        if cut is None:
            return 0
        done = event_retention.prune(
            self._sessions,
            cut,
            now=self._clock(),
            batch=self._batch,
            pause_seconds=self._pause,
            on_batch=on_batch,
        )
        if done:
            self._on_events_pruned(done)
        return done

    def run(self) -> None:
        """The worker's periodic prune: bodies, raw rests, then events."""
        self.prune()
        self.prune_raw()
        self.prune_events()


__all__ = ["Pruned", "Retention"]
