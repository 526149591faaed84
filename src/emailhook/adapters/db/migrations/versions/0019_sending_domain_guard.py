"""outbox.sender_domain, campaign.guard_warning: the sending domain's guard

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 02:40:00.000000

The domain guard counts every message sent from a domain in its window: the outbox keeps the
domain of each message's ``from`` address, and a partial index on (sender_domain, sent_at,
public_id) over the sent messages only gives a window's messages from the index alone,
without touching an upload's inserts (a queued row is not in it). Rows from before are left
NULL (not counted: they fall out of any window within a day). A campaign keeps the guards'
last warning to show it.
Columns are added in place (no table copy): both are nullable.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SENT = sa.text("sent_at IS NOT NULL")


def upgrade() -> None:
    op.add_column("outbox", sa.Column("sender_domain", sa.String(length=255), nullable=True))
    op.create_index(
        "ix_outbox_sender_sent",
        "outbox",
        ["sender_domain", "sent_at", "public_id"],
        postgresql_where=_SENT,
        sqlite_where=_SENT,
    )
    op.add_column("campaign", sa.Column("guard_warning", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("guard_warning")
    op.drop_index("ix_outbox_sender_sent", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("sender_domain")
