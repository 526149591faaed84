"""Processing accepted bodies: normalize them and store their events, once, in bulk."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar

from sqlalchemy.orm import Session, sessionmaker
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception,
    stop_after_delay,
    wait_exponential_jitter,
)

from emailhook.adapters.db.engine import dialect_of, is_transient
from emailhook.adapters.inbox import bodies as inbox
from emailhook.adapters.store import derived
from emailhook.adapters.store.events import StoredEvent, insert_prepared, prepare_events
from emailhook.domain.clock import utcnow
from emailhook.domain.events import ParsedBody, Shape
from emailhook.domain.inbox import BodyState, Finished, PendingBody, Provenance
from emailhook.domain.recipients import NOT_AN_ADDRESS
from emailhook.domain.suppression import SoftBounceRule
from emailhook.providers import registry
from emailhook.providers.base import Provider, StoredRequest
from emailhook.service.receive import platform_events

log = logging.getLogger("emailhook.processing")

P = ParamSpec("P")
R = TypeVar("R")

_MAX_ERROR_CHARS = 2000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How failures are retried: transient ones in place, the others per body with backoff."""

    max_attempts: int
    backoff_seconds: float
    backoff_max_seconds: float
    #: how long a transient database error (lock, restart, failover) is retried in place
    transient_deadline_seconds: float = 60.0

    def retry_at(self, now: datetime, attempts_before: int) -> datetime:
        delay = min(self.backoff_max_seconds, self.backoff_seconds * 2**attempts_before)
        return now + timedelta(seconds=delay)


@dataclass(slots=True)
class Outcome:
    """What one batch did."""

    stored: int = 0
    duplicates: int = 0
    done: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    #: seconds from receipt to stored, per body done
    latencies: list[float] = field(default_factory=list)
    #: items of other channels than e-mail, by channel, and items whose recipient is not an
    #: e-mail address (``NOT_AN_ADDRESS``): counted, not stored
    other_channels: Counter[str] = field(default_factory=Counter)
    #: campaigns a provider's platform event paused (``platform_events``)
    paused: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "done": len(self.done),
            "failed": self.failed,
            "dead": self.dead,
            "other_channels": dict(self.other_channels),
            "paused": self.paused,
        }


@dataclass(frozen=True, slots=True)
class _Parsed:
    pending: PendingBody
    parsed: ParsedBody

    @property
    def origin(self) -> Provenance:
        return Provenance(self.pending.id, self.pending.received_at)

    def finished(self) -> Finished:
        """Return how this body ends once its events are stored."""
        parsed = self.parsed
        if parsed.shape is Shape.UNKNOWN:
            state = BodyState.UNRECOGNIZED
        elif parsed.other_channels and not (parsed.events or parsed.platform_events):
            state = BodyState.OTHER_CHANNEL  # only SMS, WhatsApp, non-addresses: nothing stored
        else:
            state = BodyState.DONE
        return Finished(
            self.pending.id,
            state,
            len(parsed.events),
            len(parsed.rejected),
            len(parsed.other_channels),
        )


class Processor:
    """Stores the events of accepted bodies; safe to run twice on the same ids."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        policy: RetryPolicy,
        clock: Callable[[], datetime] = utcnow,
        *,
        soft_bounces: SoftBounceRule,
        readers: sessionmaker[Session] | None = None,
        parsers: Mapping[str, Provider] | None = None,
    ) -> None:
        """``readers``, read-only sessions, load the bodies outside a write transaction: on
        SQLite every write transaction holds the one write lock, which the other worker
        processes' stores wait for. ``parsers`` read each body by its ``provider`` (default:
        every registered provider)."""
        self._parsers = parsers if parsers is not None else registry.parsers()
        self._sessions = session_factory
        self._readers = readers or session_factory
        self._dialect = dialect_of(session_factory)
        self._policy = policy
        self._clock = clock
        self._soft_bounces = soft_bounces

    def process(self, body_ids: Sequence[int]) -> Outcome:
        """Store the events of every still-pending body among ``body_ids``."""
        outcome = Outcome()
        pending = self._retrying(self._load, body_ids)
        parsed: list[_Parsed] = []
        for body in pending:
            try:
                parsed.append(_Parsed(body, self._parse(body)))
            except Exception as error:  # a body our parser cannot read: count it, keep going
                self._fail(body, error, outcome)
        if not parsed:
            return outcome
        try:
            self._retrying(self._store, parsed, outcome)
        except Exception as error:
            if is_transient(error) or len(parsed) == 1:
                if not is_transient(error):
                    self._fail(parsed[0].pending, error, outcome)
                    return outcome
                raise
            # Something in the batch fails for good: store body by body to find it.
            log.warning("batch of %d failed (%s); isolating", len(parsed), _describe(error))
            for one in parsed:
                try:
                    self._retrying(self._store, [one], outcome)
                except Exception as single_error:
                    if is_transient(single_error):
                        raise
                    self._fail(one.pending, single_error, outcome)
        return outcome

    def _parse(self, body: PendingBody) -> ParsedBody:
        """Return a body's events, read by the provider that sent it."""
        provider = self._parsers.get(body.provider)
        if provider is None:
            raise LookupError(f"no provider named {body.provider!r} is registered")
        stored = StoredRequest(body.body, body.content_type or "", body.headers)
        return provider.parse_checked(stored)

    def _load(self, body_ids: Sequence[int]) -> list[PendingBody]:
        with self._readers.begin() as session:
            return inbox.load_pending(session, body_ids)

    def _store(self, batch: Sequence[_Parsed], outcome: Outcome) -> None:
        now = self._clock()
        events = [(e, item.origin) for item in batch for e in item.parsed.events]
        platform = [
            (e, item.origin, item.pending.provider)
            for item in batch
            for e in item.parsed.platform_events
        ]
        # Rows are built before the transaction: on SQLite it holds the one write lock.
        prepared = prepare_events(events, self._dialect)
        with self._sessions.begin() as session:
            stored = insert_prepared(session, prepared)
            # Only newly stored events move the derived state: a repeat never counts twice.
            derived.record(session, stored, self._soft_bounces)
            paused = platform_events.store(session, platform, now)  # may pause campaigns
            inbox.mark_done(session, [item.finished() for item in batch], now=now)
        outcome.stored += len(stored)
        outcome.paused += paused
        outcome.duplicates += len(events) - len(stored)
        outcome.done.extend(item.pending.id for item in batch)
        outcome.other_channels.update(
            o.channel for item in batch for o in item.parsed.other_channels
        )
        self._report(batch, stored, len(events), outcome)

    def _report(
        self, batch: Sequence[_Parsed], stored: Sequence[StoredEvent], events: int, outcome: Outcome
    ) -> None:
        """Count each body's latency; log the batch (and each body at DEBUG)."""
        done_at = self._clock()
        new_per_body = Counter(s.origin.inbox_id for s in stored)
        # A line per body costs more than storing a one-event body (~35 us, measured): one
        # line per batch, and a line per body with its request id at DEBUG.
        log.info(
            "stored %d bodies: %d new events, %d already stored",
            len(batch),
            len(stored),
            events - len(stored),
        )
        per_body = log.isEnabledFor(logging.DEBUG)
        for item in batch:
            body = item.pending
            outcome.latencies.append((done_at - body.received_at).total_seconds())
            context = {"request_id": body.request_id}
            if per_body:
                new = new_per_body[body.id]
                known = len(item.parsed.events) - new
                log.debug(
                    "stored body %d: %d new events, %d already stored",
                    *(body.id, new, known),
                    extra=context,
                )
            for aside in item.parsed.other_channels:
                if aside.channel == NOT_AN_ADDRESS:  # hostile or broken: say so, not what
                    log.warning(
                        "body %d: item %d set aside: its recipient is not an e-mail address",
                        *(body.id, aside.index),
                        extra=context,
                    )
            for rejected in item.parsed.rejected:
                log.warning(
                    "body %d: item %d rejected: %s",
                    *(body.id, rejected.index, rejected.reason),
                    extra=context,
                )

    def _fail(self, body: PendingBody, error: BaseException, outcome: Outcome) -> None:
        now = self._clock()
        message = _describe(error)
        with self._sessions.begin() as session:
            state = inbox.record_failure(
                session,
                body.id,
                error=message,
                now=now,
                max_attempts=self._policy.max_attempts,
                retry_at=self._policy.retry_at(now, body.attempts),
            )
        outcome.failed.append(body.id)
        context = {"request_id": body.request_id}
        if state is BodyState.DEAD:
            outcome.dead.append(body.id)
            log.error(
                "body %d dead-lettered after %d attempts: %s",
                body.id,
                body.attempts + 1,
                message,
                extra=context,
            )
        else:
            log.warning(
                "body %d failed (attempt %d): %s",
                body.id,
                body.attempts + 1,
                message,
                extra=context,
            )

    def _retrying(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            wait=wait_exponential_jitter(multiplier=0.05, max=5.0),
            stop=stop_after_delay(self._policy.transient_deadline_seconds),
            before_sleep=before_sleep_log(log, logging.WARNING),
            reraise=True,
        )
        return retrying(func, *args, **kwargs)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:_MAX_ERROR_CHARS]
