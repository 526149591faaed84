"""Each provider's circuit as one worker sees it: read with the messages it takes, and each
call's outcome recorded (``adapters/store/circuits.py``), a success on a closed circuit
writing nothing (one transaction a call saved). Opened after ``CircuitPolicy.failures``
failures in a row, for ``open_seconds``: the dispatcher then fails its messages over."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.store.circuits import circuits, record_call
from emailhook.domain.sending.circuit import Circuit
from emailhook.service.send.dispatched import CircuitPolicy

log = logging.getLogger("emailhook.send")


class CircuitBook:
    """The circuits one worker knows, by provider name."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        policy: CircuitPolicy,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._policy = policy
        self._clock = clock
        self._known: dict[str, Circuit] = {}

    def read(self, session: Session, names: Iterable[str]) -> Mapping[str, Circuit]:
        """Return the circuits of ``names`` as stored now (in ``session``), and keep them."""
        states = circuits(session, set(names))
        self._known.update(states)
        return states

    def record(self, name: str, *, ok: bool) -> None:
        """Record a call to ``name`` that succeeded (``ok``) or failed."""
        if ok and self._known.get(name) == Circuit():
            return
        with self._sessions.begin() as session:
            after = record_call(
                session,
                name,
                ok=ok,
                now=self._clock(),
                bound=self._policy.failures,
                open_seconds=self._policy.open_seconds,
            )
        self._known[name] = after
        if not ok and after.failures == self._policy.failures:
            log.error("circuit of %s opened until %s", name, after.opened_until)
