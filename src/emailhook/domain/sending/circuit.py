"""A provider's circuit: after ``bound`` provider failures in a row (5xx, no connection, a
timeout: not a recipient's refusal, not a 429) it opens for ``open_seconds``, and messages
that can go elsewhere go to the next provider of their route; once the time is up the next
call is a probe, whose success closes it and whose failure opens it again at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Circuit:
    #: provider failures in a row
    failures: int = 0
    #: open until then (None: closed)
    opened_until: datetime | None = None

    def is_open(self, now: datetime) -> bool:
        return self.opened_until is not None and now < self.opened_until


def after_call(
    circuit: Circuit, *, ok: bool, now: datetime, bound: int, open_seconds: float
) -> Circuit:
    """Return the circuit after a call that succeeded (``ok``) or failed at the provider."""
    if ok:
        return Circuit()
    failures = circuit.failures + 1
    if failures >= bound:
        return Circuit(failures, now + timedelta(seconds=open_seconds))
    return Circuit(failures, circuit.opened_until)
