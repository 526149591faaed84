"""When a message is tried again, and when it is given up: pure decisions from its attempts.

A 429, a 5xx, a timeout or a lost answer is retried with exponential backoff (a provider's
``Retry-After`` honoured when longer); a refusal (4xx) is final; after ``max_attempts`` the
message is dead-lettered. An *ambiguous* failure (the provider may have accepted the message:
a timeout after the request was written, a lost answer, a 5xx) is never resent blind: the
provider is asked first (``Resolution.LOOKUP``), after a grace period for its logs to catch up.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime


class Resolution(enum.StrEnum):
    """How a provider's send side settles an ambiguous failure."""

    LOOKUP = "lookup"  #: ask the provider (its logs) whether it has our message id
    IDEMPOTENT = "idempotent"  #: send again with the same key: the provider keeps one copy
    NONE = "none"  #: neither: a resend may deliver twice (the attempt stays uncertain)


class Verdict(enum.StrEnum):
    RETRY = "retry"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff of failed sends, and the bound that dead-letters them."""

    max_attempts: int = 8
    backoff_seconds: float = 2.0
    backoff_max_seconds: float = 600.0
    #: how long a provider's logs may lag behind an accepted message
    lookup_grace_seconds: float = 10.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Return seconds to wait after the ``attempts``-th failure (1 = the first)."""
        backoff = min(self.backoff_max_seconds, self.backoff_seconds * 2.0 ** max(0, attempts - 1))
        if retry_after is not None and retry_after > backoff:
            return min(retry_after, self.backoff_max_seconds)
        return backoff

    def after_failure(
        self, now: datetime, attempts: int, retry_after: float | None = None
    ) -> tuple[Verdict, datetime]:
        """Return whether a message failed ``attempts`` times is retried, and when."""
        if attempts >= self.max_attempts:
            return Verdict.DEAD, now
        return Verdict.RETRY, now + timedelta(seconds=self.delay(attempts, retry_after))

    def lookup_at(self, attempted_at: datetime) -> datetime:
        """Return when the provider's logs are asked about an attempt made at ``attempted_at``."""
        return attempted_at + timedelta(seconds=self.lookup_grace_seconds)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Return a ``Retry-After`` header's seconds (delta or HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
