"""What operators do with the pipeline: replay bodies, rebuild derived state, read the backlog.

The CLI, the dashboard and ``/metrics`` all call this one service, so each operation has one
meaning and one error policy: a database that is busy or down is a StorageUnavailableError
(503 on the web, a clear message on a terminal); anything else is a bug and propagates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from emailhook.adapters.db.engine import Database, is_transient
from emailhook.adapters.db.models import InboxBody
from emailhook.adapters.inbox import backlog
from emailhook.adapters.intake.spool_promoter import spool_backlog
from emailhook.adapters.reads.dashboard import events_stored
from emailhook.adapters.store import (
    contact_state,
    event_retention,
    flagged_events,
    message_rebuild,
    rollup,
    suppressions,
)
from emailhook.domain.clock import utcnow
from emailhook.domain.inbox import BodyState
from emailhook.domain.suppression import SoftBounceRule
from emailhook.service.errors import (
    BodyNotFoundError,
    InvalidQueryError,
    StorageUnavailableError,
)

#: the longest e-mail address (RFC 5321: 64 + 1 + 255)
MAX_ADDRESS_CHARS = 320
#: the bodies an operator replays by default: those that did not reach the store
REPLAYABLE = (BodyState.DEAD, BodyState.UNRECOGNIZED)
#: bodies a transaction of ``Operations.replay`` by state queues again
REPLAY_BATCH = 1000
#: longest reason an operator gives for a removal
REMOVAL_REASON_CHARS = 500


@dataclass(frozen=True, slots=True)
class Removal:
    """An operator's removal of an address from the suppression list, as recorded."""

    email: str
    removed_at: datetime
    operator: str
    reason: str
    #: what the list said before: the reason and source that were lifted
    was_reason: str | None
    was_source: str | None


@dataclass(frozen=True, slots=True)
class Backlog:
    """Bodies by state, events stored, and what the spool holds not yet moved."""

    bodies: dict[str, int]
    events_stored: int
    spool_files: int
    spool_unmoved_bytes: int

    def as_dict(self) -> dict[str, int]:
        return {
            **self.bodies,
            "events_stored": self.events_stored,
            "spool_files": self.spool_files,
            "spool_unmoved_bytes": self.spool_unmoved_bytes,
        }


class Operations:
    """Replays, rebuilds and backlog reads over one database and one spool folder."""

    def __init__(
        self,
        database: Database,
        reads: Database,
        *,
        spool_dir: Path,
        soft_bounces: SoftBounceRule,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._database = database
        self._reads = reads
        self._spool_dir = spool_dir
        self._soft_bounces = soft_bounces
        self._clock = clock

    def replay(
        self,
        ids: Sequence[int] = (),
        states: Sequence[BodyState] = (),
        on_batch: Callable[[int], None] = lambda bodies: None,
    ) -> int:
        """Queue bodies again (by id, or every one in ``states``); return how many.

        Storing is idempotent, so a replay never doubles an event. Naming ids without states
        replays those bodies whatever their state, in one transaction.

        A body named that the inbox no longer holds (pruned past the retention) is refused,
        and nothing is queued: BodyNotFoundError names it.

        Every body in ``states`` (``inbox replay --dead``: there may be millions) is replayed
        ``REPLAY_BATCH`` at a time, in id order, one short transaction each, so the web's and
        the worker's writes interleave and the relay starts on the first ones at once;
        ``on_batch(n)`` after each. A body that fails again meanwhile is not replayed twice.
        """
        if ids:
            with self._transaction(self._database) as session:
                _refuse_missing(session, ids)
                count = backlog.replay(session, now=self._clock(), ids=ids, states=states)
            on_batch(count)
            return count
        total, after = 0, 0
        while True:
            with self._transaction(self._database) as session:
                replayed = backlog.replay_next(
                    session, now=self._clock(), states=states, after=after, limit=REPLAY_BATCH
                )
            if not replayed:
                return total
            total, after = total + len(replayed), replayed[-1]
            on_batch(len(replayed))

    def count_bodies(self, states: Sequence[BodyState]) -> int:
        """Return how many bodies are in ``states``."""
        with self._transaction(self._reads) as session:
            return sum(backlog.count_states(session, states).values())

    def replay_failed(self, body_id: int) -> bool:
        """Queue one dead-lettered or unrecognized body again; False when it is neither.
        Raises BodyNotFoundError when the inbox no longer holds it."""
        with self._transaction(self._database) as session:
            _refuse_missing(session, [body_id])
            return bool(
                backlog.replay(session, now=self._clock(), ids=[body_id], states=REPLAYABLE)
            )

    def rebuild(self, on_batch: Callable[[int], None] = lambda events: None) -> int:
        """Recompute the derived tables and the rollup from every stored event; return the
        events read (``on_batch(n)`` as they are). The workers should be stopped meanwhile.

        Everything is rebuilt from events, removals and imported lists, never from the
        inbox: pruned bodies take nothing with them."""
        with self._transaction(self._database) as session:
            events = contact_state.rebuild(
                session, self._soft_bounces, on_batch=on_batch, now=self._clock()
            )
            rollup.rebuild(session)
            message_rebuild.rebuild_messages(session)
        return events

    def flagged_events(self, limit: int = 20) -> tuple[int, list[int]]:
        """Return how many stored events are flagged (kept, left out of contact state and
        suppressions: their recipient is not an e-mail address), and the first ids."""
        with self._transaction(self._reads) as session:
            return flagged_events.flagged(session, limit)

    def events_pruned_before(self) -> datetime | None:
        """Return the latest cutoff before which events were deleted (None: none ever were):
        derived state then holds history that a rebuild from the events left would lose."""
        with self._transaction(self._database) as session:
            return event_retention.pruned_before(session)

    def events_stored(self) -> int:
        """Return how many events are stored (the rollup's sum: no count of the table)."""
        with self._transaction(self._reads) as session:
            return events_stored(session)

    def remove_suppression(self, email: str, *, reason: str, operator: str | None) -> Removal:
        """Take ``email`` off the suppression list, recorded with who, when and why.

        Every reason suppressed by an event before now is lifted, also by an event that arrives
        later (a late report); an event that happens later suppresses it again. The removal is
        recorded even when the address is not listed (``was_reason`` None): it means the same
        whichever arrives first, the removal or the events it overrules.
        """
        address, why = email.strip().lower(), " ".join(reason.split())
        # kept as text in every database: PostgreSQL refuses NUL, and a control character in
        # an address or a reason is a mistake, never an address
        if not address or len(address) > MAX_ADDRESS_CHARS or not address.isprintable():
            raise InvalidQueryError("not an e-mail address (printable, at most 320 characters)")
        if not why.isprintable():
            raise InvalidQueryError("the reason must be printable text")
        if not why:
            raise InvalidQueryError("a removal needs a reason (who asked, or why it was wrong)")
        if len(why) > REMOVAL_REASON_CHARS:
            raise InvalidQueryError(f"the reason is longer than {REMOVAL_REASON_CHARS} characters")
        now = self._clock()
        with self._transaction(self._database) as session:
            row = suppressions.record_removal(
                session, address, at=now, operator=operator or "anonymous", reason=why
            )
            suppressions.refresh(session, [address], self._soft_bounces.suppress_for)
            return Removal(
                row.email, row.removed_at, row.operator, row.reason, row.was_reason, row.was_source
            )

    def backlog(self) -> Backlog:
        """Return the bodies by state, the events stored and the spool's unmoved bytes."""
        with self._transaction(self._reads) as session:
            bodies = backlog.counts(session)
            stored = events_stored(session)
        files, unmoved = spool_backlog(self._reads.engine, self._spool_dir)
        return Backlog(bodies, stored, files, unmoved)

    def gauges(self) -> dict[str, int]:
        """Return what ``/metrics`` shows of the inbox: pending and dead bodies, the spool."""
        with self._transaction(self._reads) as session:
            counts = backlog.count_states(session, [BodyState.PENDING, BodyState.DEAD])
        files, unmoved = spool_backlog(self._reads.engine, self._spool_dir)
        return {**counts, "spool_files": files, "spool_unmoved_bytes": unmoved}

    def list_bodies(self, states: Sequence[BodyState], limit: int) -> list[InboxBody]:
        """Return bodies in ``states``, newest first."""
        with self._transaction(self._reads) as session:
            bodies = backlog.list_bodies(session, states=states, limit=limit)
            session.expunge_all()
            return bodies

    def get_body(self, body_id: int) -> InboxBody | None:
        """Return one body with its bookkeeping, or None."""
        with self._transaction(self._reads) as session:
            body = backlog.get_body(session, body_id)
            session.expunge_all()
            return body

    @staticmethod
    @contextmanager
    def _transaction(database: Database) -> Iterator[Session]:
        try:
            with database.sessions.begin() as session:
                yield session
        except SQLAlchemyError as error:
            if not is_transient(error):
                raise
            raise StorageUnavailableError("the database is busy or down; try again") from error


def _refuse_missing(session: Session, ids: Sequence[int]) -> None:
    missing = backlog.missing(session, ids)
    if missing:
        named = ", ".join(map(str, missing))
        raise BodyNotFoundError(
            f"no body {named}: pruned past the retention (EMAILHOOK_INBOX_RETENTION_DAYS)"
            " or never accepted; its events, if any, are stored"
        )
