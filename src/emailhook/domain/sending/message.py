"""The provider-neutral message model, anymail's: one ``SendRequest`` as the API took it, and
one ``OutgoingMessage`` per recipient, as a provider's send side turns it into its request."""

from __future__ import annotations

import base64
import enum
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: the Crockford base32 alphabet of public ids (sortable by creation time, like a ULID)
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET)


class Category(enum.StrEnum):
    """What a message is for: an unsubscribe blocks ``marketing`` only."""

    MARKETING = "marketing"
    TRANSACTIONAL = "transactional"


class SendState(enum.StrEnum):
    """A message's place in the outbox."""

    QUEUED = "queued"  #: due now (or after a retry's backoff)
    SCHEDULED = "scheduled"  #: due at ``send_at``
    SENDING = "sending"  #: claimed by a worker: the provider may have it
    SENT = "sent"  #: the provider accepted it
    FAILED = "failed"  #: the provider refused the request for good (its answer says why)
    #: the provider refused this recipient for good (its suppression list, an invalid address);
    #: its own suppression feeds ours
    REJECTED = "rejected"
    SUPPRESSED = "suppressed"  #: on the suppression list: never handed to a provider
    CANCELLED = "cancelled"  #: cancelled before it was sent
    DEAD = "dead"  #: dead-lettered after too many attempts


#: states a message never leaves
FINAL_STATES = frozenset(
    {
        SendState.SENT,
        SendState.FAILED,
        SendState.REJECTED,
        SendState.SUPPRESSED,
        SendState.CANCELLED,
        SendState.DEAD,
    }
)


def new_public_id(prefix: str = "msg_") -> str:
    """Return a new id: ``prefix``, 10 characters of milliseconds, 16 random (26 in all)."""
    return new_public_ids(1, prefix)[0]


def new_public_ids(count: int, prefix: str = "msg_") -> list[str]:
    """Return ``count`` new ids of this millisecond, as ``new_public_id`` makes one: the
    system's randomness read once for all of them (a campaign makes a thousand at a time)."""
    millis = int(time.time() * 1000)
    head = prefix + "".join(_ALPHABET[(millis >> shift) & 31] for shift in range(45, -1, -5))
    # base32 turns each 10 random bytes (80 bits) into 16 characters, 5 bits each from the
    # first: the bits as one big-endian number, read from the top, in RFC 4648's alphabet,
    # translated to ours
    tails = base64.b32encode(secrets.token_bytes(10 * count)).decode().translate(_CROCKFORD)
    return [head + tails[start : start + 16] for start in range(0, 16 * count, 16)]


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    #: base64, as the API took it
    content: str
    content_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Recipient:
    email: str
    name: str | None = None
    merge_data: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendRequest:
    """A valid ``POST /messages`` body: each recipient becomes one message."""

    from_email: str
    to: tuple[Recipient, ...]
    provider: str
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    template_id: str | None = None
    reply_to: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    merge_global_data: Mapping[str, str] = field(default_factory=dict)
    track_opens: bool | None = None
    track_clicks: bool | None = None
    send_at: datetime | None = None
    category: Category = Category.MARKETING


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message to one recipient, as stored in the outbox and handed to a provider."""

    public_id: str
    from_email: str
    to: Recipient
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    template_id: str | None = None
    reply_to: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    tags: tuple[str, ...] = ()
    #: the request's metadata with the recipient's merged over it
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: placeholders for a provider's own template (``template_id``)
    merge_data: Mapping[str, str] = field(default_factory=dict)
    track_opens: bool | None = None
    track_clicks: bool | None = None
    send_at: datetime | None = None
    category: Category = Category.MARKETING

    def as_json(self) -> dict[str, Any]:
        """Return the message as the outbox's JSON document keeps it."""
        return {
            "public_id": self.public_id,
            "from_email": self.from_email,
            "to": {
                "email": self.to.email,
                "name": self.to.name,
                "merge_data": dict(self.to.merge_data),
                "metadata": dict(self.to.metadata),
            },
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "template_id": self.template_id,
            "reply_to": list(self.reply_to),
            "headers": dict(self.headers),
            "attachments": [
                {"filename": a.filename, "content": a.content, "content_type": a.content_type}
                for a in self.attachments
            ],
            "tags": list(self.tags),
            "metadata": dict(self.metadata),
            "merge_data": dict(self.merge_data),
            "track_opens": self.track_opens,
            "track_clicks": self.track_clicks,
            "send_at": self.send_at.isoformat() if self.send_at else None,
            "category": self.category.value,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OutgoingMessage:
        """Return the message the outbox's JSON document holds."""
        to = data["to"]
        return cls(
            public_id=data["public_id"],
            from_email=data["from_email"],
            to=Recipient(
                to["email"], to.get("name"), to.get("merge_data") or {}, to.get("metadata") or {}
            ),
            subject=data.get("subject"),
            text=data.get("text"),
            html=data.get("html"),
            template_id=data.get("template_id"),
            reply_to=tuple(data.get("reply_to") or ()),
            headers=data.get("headers") or {},
            attachments=tuple(Attachment(**a) for a in data.get("attachments") or ()),
            tags=tuple(data.get("tags") or ()),
            metadata=data.get("metadata") or {},
            merge_data=data.get("merge_data") or {},
            track_opens=data.get("track_opens"),
            track_clicks=data.get("track_clicks"),
            send_at=datetime.fromisoformat(data["send_at"]) if data.get("send_at") else None,
            category=Category(data.get("category") or Category.MARKETING),
        )
