"""A campaign: one message sent to many recipients, each a message of the outbox
(``outbox.campaign_id``), paced, paused, resumed and cancelled as one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from emailhook.adapters.db.models.base import PROVIDER_CHARS, Base, BigId, JSONDocument, UTCDateTime
from emailhook.adapters.db.models.messages import PUBLIC_ID_CHARS
from emailhook.adapters.db.models.outbox import SENDER_DOMAIN_CHARS

#: a campaign state's name (``domain.sending.campaign.CampaignState``)
CAMPAIGN_STATE_CHARS = 16


class Campaign(Base):
    """A campaign and what its upload found. Its messages' own states (the outbox) are the
    checkpoint of what was sent: this row only says whether the rest may go, and how fast."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(PUBLIC_ID_CHARS), unique=True)
    #: uploading, running, paused or cancelled (done is running with nothing left to send)
    state: Mapped[str] = mapped_column(String(CAMPAIGN_STATE_CHARS))
    #: why it is paused (an operator's words, or a guard's)
    pause_reason: Mapped[str | None] = mapped_column(Text)
    #: the guards judge the messages sent since (set when an operator resumes it: what paused
    #: it before is acknowledged); NULL: every message
    guarded_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the guards' warning as they last judged it (a rate past its warning threshold, its own
    #: or its sending domain's); NULL: none
    guard_warning: Mapped[str | None] = mapped_column(Text)
    #: messages a second its messages are published at most (NULL: the provider's pace only)
    rate: Mapped[float | None] = mapped_column(Float)
    provider: Mapped[str] = mapped_column(String(PROVIDER_CHARS))
    #: the message as uploaded (the first line), without its recipients
    document: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    #: the message every recipient's is made of, kept once and unrendered (each outbox row
    #: keeps only its own part: ``domain.sending.campaign_message``); NULL: a campaign from
    #: before, whose rows are whole messages
    message: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, nullable=True)
    #: recipients uploaded, each a message of the outbox (suppressed ones included)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    #: lines whose address the campaign had already: not added
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    #: recipients on the suppression list when uploaded
    suppressed: Mapped[int] = mapped_column(Integer, default=0)
    #: SHA-256 of the ``Idempotency-Key`` it came with, hex: one campaign a key
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: SHA-256 of the upload (method, path, body), hex: a repeat must match it
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: when it was made or last changed; while uploading, when its last chunk was written
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class _MinuteCounts:
    """The counts of a minute's messages (``campaign_minute``, ``domain_minute``)."""

    sent: Mapped[int] = mapped_column(BigInteger, default=0)
    #: with a final outcome (delivered, bounced, rejected or failed)
    final: Mapped[int] = mapped_column(BigInteger, default=0)
    delivered: Mapped[int] = mapped_column(BigInteger, default=0)
    bounced: Mapped[int] = mapped_column(BigInteger, default=0)
    hard_bounced: Mapped[int] = mapped_column(BigInteger, default=0)
    soft_bounced: Mapped[int] = mapped_column(BigInteger, default=0)
    complained: Mapped[int] = mapped_column(BigInteger, default=0)
    unsubscribed: Mapped[int] = mapped_column(BigInteger, default=0)


class CampaignMinute(_MinuteCounts, Base):
    """A campaign's messages counted per minute (UTC), kept as they happen so that its page
    and its guards never count a million rows (``adapters.store.campaign_tally``).

    Each message counts in the row of the minute it was sent (``sent``), and each outcome of
    it in that same row (a cohort: what became of the messages sent that minute), once per
    message: when the outcome's flag first turns on (``message.<flag>_at``), a bounce class
    when the message's first bounce of that class is stored. The send path adds ``sent`` in
    the transaction that settles the message sent; the worker the outcomes in the one that
    turns the flags on.
    """

    __tablename__ = "campaign_minute"

    campaign_id: Mapped[str] = mapped_column(String(PUBLIC_ID_CHARS), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)


class DomainMinute(_MinuteCounts, Base):
    """A sending domain's messages counted per minute (UTC), kept as ``campaign_minute`` is
    (the same statements), of every message sent from the domain (``outbox.sender_domain``),
    a campaign's or not: the domain guard sums its window's minutes instead of reading a
    million messages."""

    __tablename__ = "domain_minute"

    domain: Mapped[str] = mapped_column(String(SENDER_DOMAIN_CHARS), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
