"""campaign, outbox.campaign_id: campaigns of many recipients

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 00:10:00.000000

A campaign is one message to many recipients, each a message of the outbox that names it;
the unique index on (campaign_id, email) keeps an address to one message of a campaign (rows
of ``POST /messages`` have no campaign: NULLs never collide), and finds a campaign's messages.
A campaign keeps the ``Idempotency-Key`` it came with (unique: one campaign a key).
The column is added in place (no table copy): it is nullable.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from emailhook.adapters.db.models import UTCDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.Column("guarded_since", UTCDateTime(), nullable=True),
        sa.Column("rate", sa.Float(), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("document", _JSON, nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("suppressed", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_campaign_idempotency_key")),
        sa.UniqueConstraint("public_id", name=op.f("uq_campaign_public_id")),
    )
    op.add_column("outbox", sa.Column("campaign_id", sa.String(length=64), nullable=True))
    op.create_index("ux_outbox_campaign_email", "outbox", ["campaign_id", "email"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_outbox_campaign_email", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("campaign_id")
    op.drop_table("campaign")
