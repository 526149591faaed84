"""message outcomes: per-message flags and the message rollup, for rates per message

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 18:30:00.000000

Each flag of ``message`` is the receipt time of the first event that turned it on; the rollup
counts messages per hour, provider, campaign and creditor, moved only when a flag first turns
on. Events stored before are not replayed into it: ``emailhook state rebuild`` does that.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from emailhook.adapters.db.models import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAGS = (
    "final",
    "delivered",
    "bounced",
    "rejected",
    "failed",
    "opened",
    "clicked",
    "complained",
    "unsubscribed",
)


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("first_event_at", UTCDateTime(), nullable=True))
        for flag in FLAGS:
            batch.add_column(sa.Column(f"{flag}_at", UTCDateTime(), nullable=True))
    op.create_table(
        "message_rollup",
        sa.Column("bucket_hour", UTCDateTime(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("campaign", sa.Text(), nullable=False),
        sa.Column("creditor_name", sa.Text(), nullable=False),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        *(sa.Column(flag, sa.BigInteger(), nullable=False) for flag in FLAGS),
        sa.PrimaryKeyConstraint(
            "bucket_hour", "provider", "campaign", "creditor_name", name=op.f("pk_message_rollup")
        ),
    )


def downgrade() -> None:
    op.drop_table("message_rollup")
    with op.batch_alter_table("message") as batch:
        for flag in reversed(FLAGS):
            batch.drop_column(f"{flag}_at")
        batch.drop_column("first_event_at")
