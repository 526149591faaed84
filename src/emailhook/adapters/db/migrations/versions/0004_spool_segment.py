"""spool segment progress

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 14:30:00.000000

Web processes append accepted bodies to spool files; this table says how far each file has
been moved into ``inbox_body``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from emailhook.adapters.db.models import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spool_segment",
        sa.Column("name", sa.String(length=320), nullable=False),
        sa.Column("promoted_offset", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_spool_segment")),
    )


def downgrade() -> None:
    op.drop_table("spool_segment")
