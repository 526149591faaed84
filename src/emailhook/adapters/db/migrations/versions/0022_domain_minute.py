"""domain_minute: the sending domain's guard without reading its window's messages

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 03:40:00.000000

The domain guard read every message sent from a domain in its window (24 hours) through
``ix_outbox_sender_sent``: seconds a run, and on every ``GET /campaigns/<id>``, once a
million-recipient campaign fills the window (bench/guards.py). ``domain_minute`` keeps a
domain's messages counted per minute as they happen, by the statements that keep
``campaign_minute``; the guard sums the window's minutes. Nothing else reads the index:
dropped (an outbox settled sent no longer writes it). Messages sent before this revision
are not in the tally (0019, which began to keep their domain, came with it).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from emailhook.adapters.db.models import UTCDateTime

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = (
    "sent",
    "final",
    "delivered",
    "bounced",
    "hard_bounced",
    "soft_bounced",
    "complained",
    "unsubscribed",
)
_SENT = sa.text("sent_at IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "domain_minute",
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTS),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("minute", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("domain", "minute", name=op.f("pk_domain_minute")),
    )
    op.drop_index("ix_outbox_sender_sent", table_name="outbox")


def downgrade() -> None:
    op.create_index(
        "ix_outbox_sender_sent",
        "outbox",
        ["sender_domain", "sent_at", "public_id"],
        postgresql_where=_SENT,
        sqlite_where=_SENT,
    )
    op.drop_table("domain_minute")
