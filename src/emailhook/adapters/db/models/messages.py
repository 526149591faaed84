"""Messages: one e-mail to one recipient, the unit both pipelines count in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from emailhook.adapters.db.models.base import PROVIDER_CHARS, Base, BigId, UTCDateTime

#: longest public id of a message we send (``msg_`` and 26 characters today)
PUBLIC_ID_CHARS = 64


class Message(Base):
    """One e-mail to one recipient, known to either pipeline.

    A message we send has its row from the moment the send API accepts it (its send state is
    the outbox's); a message we only hear of has one from its first event. Events join their
    message by our ``public_id`` where the provider echoes it (Infobip's ``messageId`` and
    ``callbackData``, other providers' metadata), else by the provider's message id and the
    recipient: a provider may give one id to a message sent to several recipients.
    """

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    #: our id of a message we send; NULL for a message we only received events of
    public_id: Mapped[str | None] = mapped_column(String(PUBLIC_ID_CHARS), unique=True)
    #: who sent it (a provider module's ``name``); NULL: ours, not handed to a provider yet
    provider: Mapped[str | None] = mapped_column(String(PROVIDER_CHARS))
    #: the provider's id of the message, once known
    provider_message_id: Mapped[str | None] = mapped_column(Text)
    #: the recipient, as stored (``domain.addresses``)
    email: Mapped[str] = mapped_column(Text)
    qj_contact_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    campaign: Mapped[str | None] = mapped_column(Text)
    creditor_id: Mapped[str | None] = mapped_column(Text)
    creditor_name: Mapped[str | None] = mapped_column(Text)
    #: when the send API accepted it, or when its first event was received
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # What happened to it (``domain.message_outcomes``): each flag is the receipt time of the
    # first event that turned it on, NULL while off; set once, never cleared.
    #: the first event heard of it (its ``messages`` count in the rollup)
    first_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the first final outcome (delivered, bounced, rejected or failed)
    final_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    complained_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index(
            "uq_message_provider_message",
            "provider",
            "provider_message_id",
            "email",
            unique=True,
        ),
    )


class MessageRollup(Base):
    """Messages counted per hour, provider, campaign and creditor, for ``GET /stats``.

    ``messages`` counts a message in the hour its row was made by an event; each flag count
    counts it in the hour that flag first turned on (``message.<flag>_at``). The worker adds
    to it in the transaction that turns the flags on, so a repeat or a third open never counts
    again. Missing values are '' so that each key has one row.
    """

    __tablename__ = "message_rollup"

    bucket_hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    provider: Mapped[str] = mapped_column(String(PROVIDER_CHARS), primary_key=True)
    campaign: Mapped[str] = mapped_column(Text, primary_key=True)
    creditor_name: Mapped[str] = mapped_column(Text, primary_key=True)
    messages: Mapped[int] = mapped_column(BigInteger, default=0)
    final: Mapped[int] = mapped_column(BigInteger, default=0)
    delivered: Mapped[int] = mapped_column(BigInteger, default=0)
    bounced: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    failed: Mapped[int] = mapped_column(BigInteger, default=0)
    opened: Mapped[int] = mapped_column(BigInteger, default=0)
    clicked: Mapped[int] = mapped_column(BigInteger, default=0)
    complained: Mapped[int] = mapped_column(BigInteger, default=0)
    unsubscribed: Mapped[int] = mapped_column(BigInteger, default=0)
