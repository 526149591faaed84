"""The send pipeline's tables: the outbox (one row per message we send), each attempt at a
provider, the ``Idempotency-Key`` record and the shared send-rate buckets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from emailhook.adapters.db.models.base import PROVIDER_CHARS, Base, BigId, JSONDocument, UTCDateTime
from emailhook.adapters.db.models.messages import PUBLIC_ID_CHARS

#: a send state's name (``domain.sending.message.SendState``)
STATE_CHARS = 16
#: longest domain name (RFC 1035: 253 characters, 255 octets on the wire)
SENDER_DOMAIN_CHARS = 255


class OutboxMessage(Base):
    """One message the send API accepted: its document and its place in the outbox.

    The durable record of what must be sent (the broker only carries ids, as on the receive
    side): a row is due when its ``due_at`` has passed and its state is not final. The relay
    publishes due rows (again when a publish is older than the redelivery bound); a worker
    takes a row by moving it to ``sending``, due again only when its call's bound runs out,
    so that a worker that dies mid-call leaves a row the next one settles (the provider's
    logs) before sending again.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    #: our id of the message (``message.public_id``); the provider's ``messageId`` if it takes one
    public_id: Mapped[str] = mapped_column(String(PUBLIC_ID_CHARS), unique=True)
    batch_id: Mapped[str] = mapped_column(String(PUBLIC_ID_CHARS), index=True)
    #: the campaign it is a message of (``campaign.public_id``), NULL for ``POST /messages``;
    #: an address is in a campaign once (the unique index ``ux_outbox_campaign_email``)
    campaign_id: Mapped[str | None] = mapped_column(String(PUBLIC_ID_CHARS))
    provider: Mapped[str] = mapped_column(String(PROVIDER_CHARS))
    state: Mapped[str] = mapped_column(String(STATE_CHARS))
    category: Mapped[str] = mapped_column(String(STATE_CHARS))
    email: Mapped[str] = mapped_column(Text, index=True)
    qj_contact_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    #: the message as ``OutgoingMessage.as_json`` writes it
    document: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    #: when it is due: now, ``send_at``, after a retry's backoff, or when a claim runs out
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: when the relay last published it (NULL: not since it became due); published again
    #: once that is older than the redelivery bound and it is still due
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: times the relay published it
    deliveries: Mapped[int] = mapped_column(Integer, default=0)
    #: provider calls made for it (and lookups of its fate)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: when the last provider call began: the provider may have it since then
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_message_id: Mapped[str | None] = mapped_column(Text)
    #: why it is where it is: the suppression's reason, the provider's words
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the domain of its ``from`` address, lower case (NULL for rows from before 0019): the
    #: domain's tally counts it (``domain_minute``)
    sender_domain: Mapped[str | None] = mapped_column(String(SENDER_DOMAIN_CHARS))

    __table_args__ = (
        Index(
            "ix_outbox_due",
            "due_at",
            "id",
            postgresql_where=text("state IN ('queued', 'scheduled', 'sending')"),
            sqlite_where=text("state IN ('queued', 'scheduled', 'sending')"),
        ),
        Index("ux_outbox_campaign_email", "campaign_id", "email", unique=True),
        #: a campaign's messages per state (its page, ``GET /campaigns/<id>``) from the index
        #: alone, without reading a million rows
        Index("ix_outbox_campaign_state", "campaign_id", "state"),
        #: a paced campaign's open messages in due order: the relay reads the first few
        Index(
            "ix_outbox_campaign_due",
            "campaign_id",
            "due_at",
            "id",
            postgresql_where=text("state IN ('queued', 'scheduled', 'sending')"),
            sqlite_where=text("state IN ('queued', 'scheduled', 'sending')"),
        ),
        # the messages published and not taken yet: what the relay has in the queue
        Index(
            "ix_outbox_in_flight",
            "published_at",
            postgresql_where=text("published_at IS NOT NULL"),
            sqlite_where=text("published_at IS NOT NULL"),
        ),
    )


class SendAttempt(Base):
    """One provider call (or lookup) for one message, and what came of it."""

    __tablename__ = "send_attempt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(PUBLIC_ID_CHARS), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: the provider called (a message may fail over from one to the next)
    provider: Mapped[str | None] = mapped_column(String(PROVIDER_CHARS))
    #: ``send`` or ``lookup``
    action: Mapped[str] = mapped_column(String(STATE_CHARS))
    #: ``domain``'s outcome: accepted, rejected, retry, failed, unknown, found, not_found
    outcome: Mapped[str] = mapped_column(String(STATE_CHARS))
    http_status: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    #: seconds the provider call took
    seconds: Mapped[float | None] = mapped_column(Float)


class IdempotencyRecord(Base):
    """An ``Idempotency-Key`` seen by the send API: the request it came with and its answer.

    Made (without an answer) before the request is handled, so that a second request with the
    key while the first is in flight is told so; the answer is written in the transaction that
    commits the batch.
    """

    __tablename__ = "idempotency_key"

    #: SHA-256 of the key, hex
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: SHA-256 of the request (method, path, body), hex
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    #: NULL while the first request is in flight
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer)
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)


class SendRateBucket(Base):
    """A token bucket every worker and host takes from (``domain.sending.token_bucket``)."""

    __tablename__ = "send_rate_bucket"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SendCircuit(Base):
    """A provider's circuit (``domain.sending.circuit``), shared by every worker and host."""

    __tablename__ = "send_circuit"

    provider: Mapped[str] = mapped_column(String(PROVIDER_CHARS), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    opened_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
