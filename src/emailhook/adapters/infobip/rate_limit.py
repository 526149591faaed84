"""Client-side pacing of calls to a rate-limited API, and the waits between retries.

Infobip documents a limit per endpoint (logs 120 a minute, suppressions 100 a second,
blocklist 1 a second) and answers 429 beyond it; it documents no rate-limit headers. Spacing
requests evenly keeps a run under the limit instead of learning it from 429s. The clock and
the sleep are given, so tests move time by hand instead of waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

#: a monotonic clock in seconds
Clock = Callable[[], float]
#: waits the given seconds
Sleep = Callable[[float], None]


class RateLimiter:
    """At most ``per_second`` calls a second, spaced evenly (no bursts)."""

    def __init__(
        self, per_second: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait until a call is allowed; return the seconds waited."""
        with self._lock:
            now = self._clock()
            start = now if self._next is None else max(now, self._next)
            self._next = start + self.interval
        waited = start - now
        if waited > 0:
            self._sleep(waited)
        return waited


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits before retries: ``base * 2**n`` seconds, at most ``cap``, ``retries`` of them."""

    retries: int = 4
    base: float = 1.0
    cap: float = 30.0

    def delay(self, attempt: int) -> float:
        """Return the wait before retry ``attempt`` (0 for the first retry)."""
        return float(min(self.cap, self.base * (2**attempt)))
