"""message: one e-mail to one recipient, the unit both pipelines count in

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 05:40:00.000000

The identity of a message, shared by the receive pipeline (its per-message outcomes and rates)
and the send pipeline (the outbox records each message it accepts here).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from emailhook.adapters.db.models import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("public_id", sa.String(length=64), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("provider_message_id", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("qj_contact_id", sa.BigInteger(), nullable=True),
        sa.Column("campaign", sa.Text(), nullable=True),
        sa.Column("creditor_id", sa.Text(), nullable=True),
        sa.Column("creditor_name", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
        sa.UniqueConstraint("public_id", name=op.f("uq_message_public_id")),
    )
    op.create_index(
        "uq_message_provider_message",
        "message",
        ["provider", "provider_message_id", "email"],
        unique=True,
    )
    op.create_index(op.f("ix_message_qj_contact_id"), "message", ["qj_contact_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_message_qj_contact_id"), table_name="message")
    op.drop_index("uq_message_provider_message", table_name="message")
    op.drop_table("message")
