"""contact e-mail state, status counts and suppression

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 11:47:42.851684

Derived tables start empty: on a database that already holds events, fill them once with
``emailhook state rebuild`` (workers stopped).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from emailhook.adapters.db.models import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_email_state",
        sa.Column("qj_contact_id", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_rank", sa.Integer(), nullable=False),
        sa.Column("status_since", UTCDateTime(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("last_event_at", UTCDateTime(), nullable=False),
        sa.Column("last_status", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("qj_contact_id", "email", name=op.f("pk_contact_email_state")),
    )
    op.create_table(
        "contact_email_count",
        sa.Column("qj_contact_id", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "qj_contact_id", "email", "status", name=op.f("pk_contact_email_count")
        ),
    )
    op.create_table(
        "suppression",
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("reason_rank", sa.Integer(), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_suppression")),
    )
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        # (email, status) serves lookups by address as well as the soft-bounce rule.
        batch_op.drop_index(batch_op.f("ix_email_callback_email"))
        batch_op.create_index("ix_email_callback_email_status", ["email", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.drop_index("ix_email_callback_email_status")
        batch_op.create_index(batch_op.f("ix_email_callback_email"), ["email"], unique=False)
    op.drop_table("suppression")
    op.drop_table("contact_email_count")
    op.drop_table("contact_email_state")
