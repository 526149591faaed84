"""raw event retention: email_callback.raw_rest nullable

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 17:00:00.000000

Past ``EMAILHOOK_RAW_EVENT_RETENTION_DAYS`` an event's ``raw_rest`` is set NULL
(``adapters.store.raw_retention``); every column stays. Downgrade gives a dropped rest back as
``{}`` (what ``raw_event.restore`` reads a NULL as), so 0007's NOT NULL holds again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.alter_column("raw_rest", existing_type=sa.JSON(), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE email_callback SET raw_rest = '{}' WHERE raw_rest IS NULL")
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.alter_column("raw_rest", existing_type=sa.JSON(), nullable=False)
