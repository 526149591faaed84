"""inbox, email_callback and platform_event

Revision ID: 0001
Revises:
Create Date: 2026-11-27 11:12:15.731787
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from emailhook.adapters.db.models import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _inbox_body()
    _email_callback()
    _platform_event()


def _inbox_body() -> None:
    op.create_table(
        "inbox_body",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("shape", sa.String(length=32), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("available_at", UTCDateTime(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("processed_at", UTCDateTime(), nullable=True),
        sa.Column("stored_events", sa.Integer(), nullable=True),
        sa.Column("rejected_items", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_body")),
    )
    with op.batch_alter_table("inbox_body", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbox_body_pending",
            ["available_at", "id"],
            unique=False,
            postgresql_where=sa.text("state = 'pending'"),
            sqlite_where=sa.text("state = 'pending'"),
        )
        batch_op.create_index("ix_inbox_body_state", ["state"], unique=False)


def _email_callback() -> None:
    op.create_table(
        "email_callback",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_key", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("data_recebimento", UTCDateTime(), nullable=False),
        sa.Column("id_externo", sa.Text(), nullable=True),
        sa.Column("qj_contact_id", sa.BigInteger(), nullable=True),
        sa.Column("event_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("bulk_id", sa.Text(), nullable=True),
        sa.Column("provider_event_id", sa.Text(), nullable=True),
        sa.Column("status_id", sa.BigInteger(), nullable=True),
        sa.Column("status_group_id", sa.BigInteger(), nullable=True),
        sa.Column("status_name", sa.Text(), nullable=True),
        sa.Column("status_description", sa.Text(), nullable=True),
        sa.Column("error_id", sa.BigInteger(), nullable=True),
        sa.Column("error_name", sa.Text(), nullable=True),
        sa.Column("error_description", sa.Text(), nullable=True),
        sa.Column("error_permanent", sa.Boolean(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("campaign", sa.Text(), nullable=True),
        sa.Column("creditor_id", sa.Text(), nullable=True),
        sa.Column("creditor_name", sa.Text(), nullable=True),
        sa.Column(
            "callback_data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("callback_data_raw", sa.Text(), nullable=True),
        sa.Column(
            "raw",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("inbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["inbox_id"],
            ["inbox_body.id"],
            name=op.f("fk_email_callback_inbox_id_inbox_body"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_callback")),
        sa.UniqueConstraint("event_key", name=op.f("uq_email_callback_event_key")),
    )
    _email_callback_indexes()


def _email_callback_indexes() -> None:
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_email_callback_data_recebimento"), ["data_recebimento"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_email_callback_email"), ["email"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_email_callback_id_externo"), ["id_externo"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_email_callback_inbox_id"), ["inbox_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_email_callback_qj_contact_id"), ["qj_contact_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_email_callback_status"), ["status"], unique=False)


def _platform_event() -> None:
    op.create_table(
        "platform_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_key", sa.String(length=128), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("provider_event_id", sa.Text(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column(
            "raw",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("inbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["inbox_id"],
            ["inbox_body.id"],
            name=op.f("fk_platform_event_inbox_id_inbox_body"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_event")),
        sa.UniqueConstraint("event_key", name=op.f("uq_platform_event_event_key")),
    )


def downgrade() -> None:

    op.drop_table("platform_event")
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_callback_status"))
        batch_op.drop_index(batch_op.f("ix_email_callback_qj_contact_id"))
        batch_op.drop_index(batch_op.f("ix_email_callback_inbox_id"))
        batch_op.drop_index(batch_op.f("ix_email_callback_id_externo"))
        batch_op.drop_index(batch_op.f("ix_email_callback_email"))
        batch_op.drop_index(batch_op.f("ix_email_callback_data_recebimento"))

    op.drop_table("email_callback")
    with op.batch_alter_table("inbox_body", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_body_state")
        batch_op.drop_index(
            "ix_inbox_body_pending",
            postgresql_where=sa.text("state = 'pending'"),
            sqlite_where=sa.text("state = 'pending'"),
        )

    op.drop_table("inbox_body")
