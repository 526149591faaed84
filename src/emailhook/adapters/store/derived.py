"""What newly stored events move, in the transaction that stores them: contact state and the
suppression list, the event rollup, and their messages' flags. Only newly stored events are
given: a repeat never counts twice."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from emailhook.adapters.store import contact_state, messages, rollup
from emailhook.adapters.store.events import StoredEvent
from emailhook.domain.suppression import SoftBounceRule


def record(session: Session, stored: Sequence[StoredEvent], rule: SoftBounceRule) -> None:
    """Move the derived state by ``stored``, the events this transaction stored first."""
    contact_state.record(session, [s.observation() for s in stored], rule)
    rollup.record(session, stored)
    messages.record(session, stored)
