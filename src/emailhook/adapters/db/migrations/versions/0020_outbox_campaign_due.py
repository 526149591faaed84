"""outbox: ix_outbox_campaign_due and ix_outbox_in_flight, for the relay under a backlog

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-07 02:50:00.000000

The relay claims a paced campaign's due messages each pass, oldest due first, under
SQLite's one write lock. Without this index it found them through ``ux_outbox_campaign_email``
and sorted every open message of the campaign (0.4 s a pass with 100,000 queued, the workers
starved of the lock); with it a pass reads the messages it claims. Partial, on the open
states only, as ``ix_outbox_due``: sent messages leave it.

``ix_outbox_in_flight`` holds the messages published and not taken yet (a take clears
``published_at``): the relay counts them each pass and publishes no more while the queue
holds its window, so a backlog waits in the outbox, not in the queue (where it was published
again every redelivery bound, and dead-lettered after 20 times).
(Numbered 0020 to follow 0018 and 0019 of branches merged beside it: its ``down_revision``
is the migration before it on main.)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = sa.text("state IN ('queued', 'scheduled', 'sending')")
_PUBLISHED = sa.text("published_at IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_outbox_campaign_due",
        "outbox",
        ["campaign_id", "due_at", "id"],
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    )
    op.create_index(
        "ix_outbox_in_flight",
        "outbox",
        ["published_at"],
        postgresql_where=_PUBLISHED,
        sqlite_where=_PUBLISHED,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_in_flight", table_name="outbox")
    op.drop_index("ix_outbox_campaign_due", table_name="outbox")
