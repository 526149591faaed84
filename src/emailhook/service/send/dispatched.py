"""What the send pipeline's worker side shares: a provider configured to send, what a task
did, and the small rules of batching and bookkeeping the dispatcher, the settling of
uncertain messages and the recording of answers all use."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emailhook.adapters.store.held import Claimed
from emailhook.domain.sending.message import OutgoingMessage
from emailhook.domain.sending.retries import Resolution
from emailhook.providers.sending import (
    HttpAnswer,
    HttpRequest,
    Outcome,
    RecipientResult,
    SendConfig,
    SendRules,
    SendSide,
)

Call = Callable[[HttpRequest], HttpAnswer]
#: a provider's own transport (SMTP): sends the messages of one request and returns one
#: result per message, each classified by what the provider can have seen (it never raises
#: for a message's fate: a connection lost before a message is RETRY, after it UNKNOWN)
Deliver = Callable[[Sequence[OutgoingMessage], SendConfig], list[RecipientResult]]


@dataclass(frozen=True, slots=True)
class CircuitPolicy:
    """When a provider's circuit opens (failures in a row) and for how long."""

    failures: int = 5
    open_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class SendProvider:
    """A provider configured to send: its send side, its settings, its pace."""

    side: SendRules
    config: SendConfig
    #: requests a second, shared by every worker (None: unpaced)
    rate: float | None
    #: the shared bucket's name (one per account)
    bucket: str
    #: the provider's own transport when it does not speak HTTP (SMTP); None: HTTP, the
    #: side's ``prepare``/``parse`` around the dispatcher's ``call``
    deliver: Deliver | None = None


@dataclass(slots=True)
class Dispatched:
    """What one task did, for the metrics and the task's result."""

    sent: int = 0
    failed: int = 0
    rejected: int = 0
    retried: int = 0
    suppressed: int = 0
    dead: int = 0
    uncertain: int = 0
    #: seconds each provider call took
    calls: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "rejected": self.rejected,
            "retried": self.retried,
            "suppressed": self.suppressed,
            "dead": self.dead,
            "uncertain": self.uncertain,
        }


def requests_of(side: SendRules, items: Sequence[Claimed]) -> list[list[Claimed]]:
    """Split ``items`` into requests: messages that share request-level options, at most the
    provider's batch each, and never two to one address (Mailgun keys a batch's
    per-recipient variables by address). Where the provider's idempotency key is the
    request's (Resend's, made from its message ids), uncertain messages go again with
    those of their first request (the call that began at the same time) and no others:
    the same request, the same key."""
    groups: dict[Hashable, list[Claimed]] = defaultdict(list)
    for item in items:
        again = item.uncertain and side.resolution is Resolution.IDEMPOTENT
        groups[(side.request_key(item.message), item.attempted_at if again else None)].append(item)
    size = max(1, side.max_batch)
    requests: list[list[Claimed]] = []
    for group in groups.values():
        # requests not yet full, each with its addresses: an address seen again goes to the
        # first that lacks it (in order, so a group of distinct addresses is sliced as before)
        filling: list[tuple[list[Claimed], set[str]]] = []
        for item in group:
            address = item.message.to.email.lower()
            slot = next((s for s in filling if address not in s[1]), None)
            if slot is None:
                slot = ([], set())
                filling.append(slot)
                requests.append(slot[0])
            slot[0].append(item)
            slot[1].add(address)
            if len(slot[0]) >= size:
                filling.remove(slot)
    return requests


def http_side(side: SendRules) -> SendSide:
    """Return ``side`` as an HTTP send side (a provider with its own transport has none)."""
    if not isinstance(side, SendSide):
        raise TypeError(f"{side.name} sends through its own transport, not over HTTP")
    return side


def attempted_at(item: Claimed) -> datetime:
    assert item.attempted_at is not None
    return item.attempted_at


def failed_result(message: OutgoingMessage, reason: str) -> RecipientResult:
    return RecipientResult(message.public_id, Outcome.FAILED, reason=reason)


def attempt_row(
    public_id: str,
    at: datetime,
    action: str,
    outcome: str,
    http_status: int | None,
    reason: str | None,
    *,
    provider: str | None = None,
) -> dict[str, Any]:
    """Return a ``send_attempt`` row: one call (or lookup) of ``provider`` for a message."""
    return {
        "public_id": public_id,
        "provider": provider,
        "at": at,
        "action": action,
        "outcome": outcome,
        "http_status": http_status,
        "reason": reason[:2000] if reason else None,
        "seconds": None,
    }
