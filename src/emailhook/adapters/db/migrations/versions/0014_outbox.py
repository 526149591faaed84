"""outbox, send_attempt, idempotency_key, send_rate_bucket: the send pipeline's tables

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 20:30:00.000000

The send API (``POST /messages``) commits each accepted message to ``outbox`` (its ``message``
row made in the same transaction); the relay publishes due rows to the ``email-send`` queue,
workers call the provider and record each call in ``send_attempt``. ``idempotency_key`` keeps
the answers of requests sent with an ``Idempotency-Key``; ``send_rate_bucket`` the token
buckets every worker paces its provider calls by.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from emailhook.adapters.db.models import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_DUE = "state IN ('queued', 'scheduled', 'sending')"


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("qj_contact_id", sa.BigInteger(), nullable=True),
        sa.Column("document", _JSON, nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempted_at", UTCDateTime(), nullable=True),
        sa.Column("provider_message_id", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("public_id", name=op.f("uq_outbox_public_id")),
    )
    op.create_index(op.f("ix_outbox_batch_id"), "outbox", ["batch_id"], unique=False)
    op.create_index(op.f("ix_outbox_email"), "outbox", ["email"], unique=False)
    op.create_index(op.f("ix_outbox_qj_contact_id"), "outbox", ["qj_contact_id"], unique=False)
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["due_at", "id"],
        unique=False,
        postgresql_where=sa.text(_DUE),
        sqlite_where=sa.text(_DUE),
    )
    op.create_table(
        "send_attempt",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_send_attempt")),
    )
    op.create_index(op.f("ix_send_attempt_public_id"), "send_attempt", ["public_id"], unique=False)
    op.create_table(
        "idempotency_key",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("answer", _JSON, nullable=True),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_idempotency_key")),
    )
    op.create_index(
        op.f("ix_idempotency_key_created_at"), "idempotency_key", ["created_at"], unique=False
    )
    op.create_table(
        "send_rate_bucket",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("counted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_send_rate_bucket")),
    )


def downgrade() -> None:
    op.drop_table("send_rate_bucket")
    op.drop_index(op.f("ix_idempotency_key_created_at"), table_name="idempotency_key")
    op.drop_table("idempotency_key")
    op.drop_index(op.f("ix_send_attempt_public_id"), table_name="send_attempt")
    op.drop_table("send_attempt")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_index(op.f("ix_outbox_qj_contact_id"), table_name="outbox")
    op.drop_index(op.f("ix_outbox_email"), table_name="outbox")
    op.drop_index(op.f("ix_outbox_batch_id"), table_name="outbox")
    op.drop_table("outbox")
