"""outbox: a campaign's open messages by due time (ix_outbox_campaign_due)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 02:45:00.000000

The relay claims a paced campaign's due messages in due order and counts how many wait: with
a million of them, the unique (campaign_id, email) index made each pass sort or count them
all (0.15-0.4 s for 100,000 on SQLite; a relay pass a few seconds at a million, and the
campaign sent at a fraction of its rate). This index holds a campaign's open messages in due
order: a pass reads the first few. Partial, as ``ix_outbox_due``: sent messages leave it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = sa.text("state IN ('queued', 'scheduled', 'sending')")


def upgrade() -> None:
    op.create_index(
        "ix_outbox_campaign_due",
        "outbox",
        ["campaign_id", "due_at", "id"],
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_campaign_due", table_name="outbox")
