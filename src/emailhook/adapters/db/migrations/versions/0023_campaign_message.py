"""campaign.message: a campaign's message kept once

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 06:00:00.000000

A campaign's upload stored each recipient as a whole rendered message (subject, text, html):
a million copies of the body. The campaign now keeps its message once, unrendered, and each
outbox row only what is the recipient's own (``domain.sending.campaign_message``). Campaigns
from before keep whole documents and a NULL message: read as they were. Added in place
(nullable: no table copy).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("campaign", sa.Column("message", _JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("message")
