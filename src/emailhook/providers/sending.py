"""The send contract every provider's send side keeps: pure, no framework, no I/O.

A send side turns messages (``domain.sending.message``, anymail's model) into one HTTP request
(:meth:`SendSide.prepare`) and the provider's answer into one result per message
(:meth:`SendSide.parse`); the service layer does the I/O, the retries and the bookkeeping. The
send side also says how an ambiguous failure is settled (``resolution``): LOOKUP asks the
provider's logs for our message ids (:meth:`SendSide.lookup` / :meth:`SendSide.found`),
IDEMPOTENT resends with the same key, NONE cannot tell. A provider that is not HTTP (SMTP)
keeps the rules (:class:`SendRules`: batch size, resolution, features, checks) and hands the
dispatcher its own transport instead of ``prepare``/``parse``.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from emailhook.domain.sending.message import (
    Attachment,
    Category,
    OutgoingMessage,
    Recipient,
    SendRequest,
)
from emailhook.domain.sending.retries import Resolution
from emailhook.domain.vocabulary import BounceClass, RejectReason

__all__ = [
    "Attachment",
    "Category",
    "HttpAnswer",
    "HttpRequest",
    "Outcome",
    "OutgoingMessage",
    "Recipient",
    "RecipientResult",
    "Resolution",
    "SendConfig",
    "SendRequest",
    "SendRules",
    "SendSide",
]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]  # lower-cased names
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Outcome(enum.StrEnum):
    """What became of one message in one attempt."""

    ACCEPTED = "accepted"  #: the provider took it (its message id known)
    REJECTED = "rejected"  #: the provider refused this recipient for good (e.g. suppressed)
    RETRY = "retry"  #: not taken, and certainly not sent: try again later (429)
    FAILED = "failed"  #: the request was refused for good (4xx): never retried
    UNKNOWN = "unknown"  #: the provider may have it (5xx, an unreadable answer): settle first


@dataclass(frozen=True, slots=True)
class RecipientResult:
    public_id: str
    outcome: Outcome
    provider_message_id: str | None = None
    #: the provider's words (its error code and description), for the outbox and the API
    reason: str | None = None
    #: seconds the provider asked to wait (Retry-After), if it said
    retry_after: float | None = None
    #: a REJECTED recipient: why, in the one vocabulary. The provider's own suppression
    #: (``bounced``, ``spam``, ``unsubscribed``) suppresses the address here too; anything
    #: else (``invalid``, ``other``: a policy, a temporary block) is kept, and suppresses nothing
    reject_reason: RejectReason | None = None
    #: a REJECTED recipient the receiving server refused (SMTP's 5xx to RCPT TO from the MX
    #: itself): recorded as a bounce of this class (``hard`` suppresses), not a rejection
    bounce_class: BounceClass | None = None


@dataclass(frozen=True, slots=True)
class SendConfig:
    """What a send side needs of the settings, provider-neutral."""

    api_url: str
    api_key: str
    #: where the provider posts delivery reports back (with our webhook token), if known
    delivery_url: str | None = None
    #: where it posts tracking events (opens, clicks), if known
    tracking_url: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


class SendRules(Protocol):
    """What every provider's send side says of its messages, however they travel: what the
    send API checks on accept and how the dispatcher groups and settles them."""

    #: the provider's registry name
    name: str
    #: messages per request at most
    max_batch: int
    #: how an ambiguous failure is settled
    resolution: Resolution
    #: the request's optional fields it carries (``domain.sending.validation.FEATURES``)
    features: frozenset[str]

    def request_key(self, message: OutgoingMessage) -> Hashable:
        """Return what the messages of one request must share (request-level options, such
        as Infobip's tracking): the dispatcher never puts messages of two keys in one."""
        ...

    def check(self, message: OutgoingMessage) -> str | None:
        """Return why the provider cannot carry ``message`` (a limit of its API), or None."""
        ...


@runtime_checkable
class SendSide(SendRules, Protocol):
    """A provider's send side over HTTP (one module ``providers/<name>/send.py``). A provider
    that does not speak HTTP (SMTP) keeps only :class:`SendRules` here and sends through its
    own transport (``adapters/``), which the dispatcher calls in place of HTTP."""

    def prepare(self, messages: Sequence[OutgoingMessage], config: SendConfig) -> HttpRequest:
        """Return the one request that sends ``messages``."""
        ...

    def parse(
        self, answer: HttpAnswer, messages: Sequence[OutgoingMessage]
    ) -> list[RecipientResult]:
        """Return one result per message of the request ``answer`` answers."""
        ...

    def lookup(self, public_ids: Sequence[str], config: SendConfig) -> list[HttpRequest]:
        """Return the requests that ask the provider which of our ids it accepted (LOOKUP):
        as many as its query's limits need for all of ``public_ids``."""
        ...

    def found(self, answer: HttpAnswer) -> dict[str, str]:
        """Return our ids the lookup's answer lists, each with the provider's message id.
        Raises ValueError when the answer is no lookup answer (an error)."""
        ...


def keyed_config(
    values: Mapping[str, Any], secret: str, api_url: str
) -> tuple[SendConfig, float | None] | None:
    """Return the usual send config of a provider's settings: the first value of its
    ``secret`` setting as the key, its ``api_url`` setting (default ``api_url``), and its
    ``send_rate``; None when no key is set (the provider does not send)."""
    keys = values.get(secret) or ()
    if not keys:
        return None
    return SendConfig(values.get("api_url") or api_url, keys[0]), values.get("send_rate")
