"""Providers' circuits in the database, so that every worker of every host fails over
together (``domain.sending.circuit`` holds the rule)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from emailhook.adapters.db.inserts import locked_row
from emailhook.adapters.db.models import SendCircuit
from emailhook.domain.sending.circuit import Circuit, after_call


def circuits(session: Session, providers: Iterable[str]) -> dict[str, Circuit]:
    """Return the circuit of each of ``providers`` (closed when never recorded)."""
    names = list(providers)
    found = {
        row.provider: Circuit(row.failures, row.opened_until)
        for row in session.execute(
            select(SendCircuit).where(SendCircuit.provider.in_(names))
        ).scalars()
    }
    return {name: found.get(name, Circuit()) for name in names}


def record_call(
    session: Session, provider: str, *, ok: bool, now: datetime, bound: int, open_seconds: float
) -> Circuit:
    """Record a call's success or provider failure; return the circuit after it."""
    row = locked_row(session, SendCircuit, "provider", provider=provider, failures=0)
    after = after_call(
        Circuit(row.failures, row.opened_until),
        ok=ok,
        now=now,
        bound=bound,
        open_seconds=open_seconds,
    )
    row.failures, row.opened_until = after.failures, after.opened_until
    return after
