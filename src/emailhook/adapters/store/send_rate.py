"""Token buckets in the database, so that every worker of every host paces its provider calls
by the same bucket (``domain.sending.token_bucket`` holds the arithmetic)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from emailhook.adapters.db.inserts import locked_row
from emailhook.adapters.db.models import SendRateBucket
from emailhook.domain.sending.token_bucket import BucketState, Take, slowed, take, take_up_to


def take_token(
    session: Session, name: str, *, clock: Callable[[], datetime], rate: float, burst: float
) -> Take:
    """Take one token from bucket ``name`` (made full on first use), row locked meanwhile.

    The time is read once the row is locked: a worker that waited for another's lock takes
    at the time it takes, not at the time it began to wait (which would let two requests
    leave closer together than the rate allows)."""
    row = _locked(session, name, clock(), burst)
    result = take(BucketState(row.tokens, row.counted_at), clock(), rate, burst)
    row.tokens, row.counted_at = result.state.tokens, result.state.counted_at
    session.flush()
    return result


def slow_down(session: Session, name: str, *, now: datetime, pause_seconds: float) -> None:
    """Empty bucket ``name`` and hold it for ``pause_seconds`` (the provider said 429)."""
    row = _locked(session, name, now, 0.0)
    state = slowed(BucketState(row.tokens, row.counted_at), now, pause_seconds)
    row.tokens, row.counted_at = state.tokens, state.counted_at
    session.flush()


def _locked(session: Session, name: str, now: datetime, tokens: float) -> SendRateBucket:
    """Return bucket ``name``'s row, locked; made (with ``tokens``) when it is new, by
    whichever worker gets there first."""
    return locked_row(session, SendRateBucket, "name", name=name, tokens=tokens, counted_at=now)


def take_many(
    session: Session, name: str, *, now: datetime, rate: float, burst: float, wanted: int
) -> int:
    """Take up to ``wanted`` whole tokens from bucket ``name`` (made full on first use), row
    locked until the transaction ends; return how many were taken."""
    row = _locked(session, name, now, burst)
    taken, state = take_up_to(BucketState(row.tokens, row.counted_at), now, rate, burst, wanted)
    row.tokens, row.counted_at = state.tokens, state.counted_at
    session.flush()
    return taken
