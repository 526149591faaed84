"""outbox: the messages published and not taken yet (ix_outbox_in_flight)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 02:50:00.000000

``ix_outbox_in_flight`` holds the messages published and not taken yet (a take clears
``published_at``): the relay counts them each pass and publishes no more while the queue
holds its window, so a backlog waits in the outbox, not in the queue (where it was published
again every redelivery bound, and dead-lettered after 20 times). Partial: only published rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PUBLISHED = sa.text("published_at IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_outbox_in_flight",
        "outbox",
        ["published_at"],
        postgresql_where=_PUBLISHED,
        sqlite_where=_PUBLISHED,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_in_flight", table_name="outbox")
