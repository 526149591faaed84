"""The receive pipeline's durable records: accepted bodies (the inbox) and the spool
segments moved into it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from emailhook.adapters.db import body_encoding
from emailhook.adapters.db.models.base import (
    PROVIDER_CHARS,
    Base,
    BigId,
    JSONDocument,
    UTCDateTime,
)
from emailhook.domain.inbox import REQUEST_ID_CHARS, BodyState


class InboxBody(Base):
    """Every body answered 200, as received: the durable record that the queue is rebuilt from."""

    __tablename__ = "inbox_body"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: the body as stored, in ``body_encoding`` (``adapters.db.body_encoding``); read ``body``
    stored_body: Mapped[bytes] = mapped_column("body", LargeBinary)
    body_encoding: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    shape: Mapped[str] = mapped_column(String(32))
    event_count: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=BodyState.PENDING)
    #: when the relay may (re)publish it: now for new bodies, later while in flight or backing off
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: how often it was published to the queue; bounds bodies that kill the worker
    deliveries: Mapped[int] = mapped_column(Integer, default=0)
    #: how often processing it failed; bounds poison bodies
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stored_events: Mapped[int | None] = mapped_column(Integer)
    rejected_items: Mapped[int | None] = mapped_column(Integer)
    #: items of other channels than e-mail (SMS, WhatsApp, ...): kept in the body, not stored
    other_items: Mapped[int | None] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_CHARS))
    #: who sent it (``POST /email`` and ``/webhooks/infobip``: infobip): the worker parses by it
    provider: Mapped[str] = mapped_column(
        String(PROVIDER_CHARS), default="infobip", server_default="infobip"
    )
    #: the Content-Type as sent, and the headers the provider's parsing reads (svix-id, ...)
    content_type: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, str] | None] = mapped_column(JSONDocument)

    @property
    def body(self) -> bytes:
        """The body as received, byte for byte."""
        return body_encoding.decode(self.stored_body, self.body_encoding)

    __table_args__ = (
        Index(
            "ix_inbox_body_pending",
            "available_at",
            "id",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        Index("ix_inbox_body_state", "state"),
        # the backlog's sum of other channels' items reads the few bodies that have any
        Index(
            "ix_inbox_body_other_items",
            "other_items",
            postgresql_where=text("other_items > 0"),
            sqlite_where=text("other_items > 0"),
        ),
    )


#: longest spool segment name (a host name is at most 253 characters)
SPOOL_NAME_CHARS = 320


class SpoolSegment(Base):
    """How far a web process's spool file has been moved into the inbox.

    Updated in the transaction that inserts the bodies, so a segment's bodies reach the inbox
    exactly once whichever process moves them, and whenever it crashes. A segment's row stays
    after its file is deleted, so that a copy of the file recovered on another machine is not
    moved again.
    """

    __tablename__ = "spool_segment"

    #: the file's name in the spool folder: host, process id, start time, random part
    name: Mapped[str] = mapped_column(String(SPOOL_NAME_CHARS), primary_key=True)
    #: bytes of the file whose bodies are in the inbox
    promoted_offset: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
