"""``Idempotency-Key`` records: a key is taken before its request is handled, and its answer
kept with the batch it committed (the IETF draft ``draft-ietf-httpapi-idempotency-key-header``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from emailhook.adapters.db.inserts import insert_if_missing
from emailhook.adapters.db.models import IdempotencyRecord


class KeyState(enum.Enum):
    NEW = "new"  #: taken by this request: handle it, then complete
    IN_FLIGHT = "in_flight"  #: a request with this key is being handled
    MISMATCH = "mismatch"  #: the key came with another request before
    DONE = "done"  #: answered before: give the same answer


@dataclass(frozen=True, slots=True)
class Taken:
    state: KeyState
    status_code: int | None = None
    answer: dict[str, Any] | None = None


def take(
    session: Session,
    key_hash: str,
    request_hash: str,
    *,
    now: datetime,
    expired_before: datetime,
    abandoned_before: datetime,
) -> Taken:
    """Take ``key_hash`` for a request, or say why not. A record older than ``expired_before``
    is forgotten; one left in flight since before ``abandoned_before`` (its process died) is
    taken over."""
    inserted = insert_if_missing(
        session,
        IdempotencyRecord,
        "key_hash",
        key_hash=key_hash,
        request_hash=request_hash,
        created_at=now,
    )
    if inserted:
        return Taken(KeyState.NEW)
    row = session.execute(
        select(IdempotencyRecord).where(IdempotencyRecord.key_hash == key_hash).with_for_update()
    ).scalar_one()
    stale = row.created_at < expired_before or (
        row.completed_at is None and row.created_at < abandoned_before
    )
    if stale:
        row.request_hash, row.created_at = request_hash, now
        row.completed_at = row.status_code = row.answer = None
        return Taken(KeyState.NEW)
    if row.request_hash != request_hash:
        return Taken(KeyState.MISMATCH)
    if row.completed_at is None:
        return Taken(KeyState.IN_FLIGHT)
    return Taken(KeyState.DONE, row.status_code, row.answer)


def complete(
    session: Session, key_hash: str, status_code: int, answer: dict[str, Any], now: datetime
) -> None:
    """Keep the answer of the request that took ``key_hash``."""
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.key_hash == key_hash)
        .values(completed_at=now, status_code=status_code, answer=answer)
    )


def release(session: Session, key_hash: str) -> None:
    """Forget a key whose request kept nothing (refused as malformed): it may be used again."""
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.key_hash == key_hash, IdempotencyRecord.completed_at.is_(None)
        )
    )


def prune(session: Session, before: datetime) -> int:
    """Delete the records made before ``before``; return how many."""
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
