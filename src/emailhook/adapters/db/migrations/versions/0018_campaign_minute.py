"""campaign_minute, ix_outbox_campaign_state: a campaign's progress without counting its rows

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 02:30:00.000000

A campaign's page and ``GET /campaigns/<id>`` counted its messages on every call: at a
million recipients, seconds each (bench/campaign_page.py). ``campaign_minute`` keeps them
counted per minute as they happen (the send path adds ``sent``, the worker the outcomes);
the index on (campaign_id, state) counts the messages per state from the index alone.
Campaigns made before this revision have no minutes: their counts start from here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from emailhook.adapters.db.models import UTCDateTime

revision: str = "0018"
down_revision: str | None = "0017"
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


def upgrade() -> None:
    op.create_table(
        "campaign_minute",
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("minute", UTCDateTime(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTS),
        sa.PrimaryKeyConstraint("campaign_id", "minute", name=op.f("pk_campaign_minute")),
    )
    op.create_index("ix_outbox_campaign_state", "outbox", ["campaign_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_outbox_campaign_state", table_name="outbox")
    op.drop_table("campaign_minute")
