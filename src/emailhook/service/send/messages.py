"""The send API's reads and cancellation: ``GET /messages/<id>``, ``GET /messages``,
``DELETE /messages/<id>``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.reads import sent_messages
from emailhook.adapters.reads.sent_messages import MessageFilter
from emailhook.adapters.store import outbox
from emailhook.domain.clock import utcnow
from emailhook.domain.sending.message import SendState
from emailhook.service.errors import ConflictError, NotFoundError


class SentMessages:
    """Reads messages through ``reads``, cancels through ``sessions``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        reads: sessionmaker[Session],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._reads = reads
        self._clock = clock

    def get(self, public_id: str) -> dict[str, Any]:
        with self._reads.begin() as session:
            found = sent_messages.get_message(session, public_id)
        if found is None:
            raise NotFoundError(f"no message {public_id}")
        return found

    def page(self, where: MessageFilter) -> dict[str, Any]:
        with self._reads.begin() as session:
            items, cursor = sent_messages.list_messages(session, where)
        return {"items": items, "next_cursor": str(cursor) if cursor is not None else None}

    def cancel(self, public_id: str) -> dict[str, Any]:
        """Cancel a queued or scheduled message; a message sent (or on its way) is a 409."""
        with self._sessions.begin() as session:
            state = outbox.cancel(session, public_id, self._clock())
        if state is None:
            raise NotFoundError(f"no message {public_id}")
        if state is not SendState.CANCELLED:
            raise ConflictError(
                f"message {public_id} is {state.value}: it can no longer be cancelled"
            )
        return {"id": public_id, "status": state.value}

    def outbox_counts(self) -> dict[str, int]:
        with self._reads.begin() as session:
            return outbox.counts_by_state(session)

    def batches(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._reads.begin() as session:
            rows = sent_messages.batches(session, limit)
        found: dict[str, dict[str, Any]] = {}
        for batch_id, created_at, provider, state, count in rows:
            item = found.setdefault(
                batch_id,
                {"batch_id": batch_id, "created_at": created_at, "provider": provider,
                 "states": {}, "messages": 0},
            )  # fmt: skip
            item["states"][state] = int(count)
            item["messages"] += int(count)
        return sorted(found.values(), key=lambda b: b["created_at"], reverse=True)
