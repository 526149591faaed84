"""other channels, suppressions that end, reconciliation from Infobip's logs

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01 15:40:00.000000

``inbox_body.other_items`` counts the items of other channels than e-mail (SMS, WhatsApp, ...)
that a body held.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
# Written beside 0005 (providers); the lead re-chains it after 0005 when merging.
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox_body") as batch:
        batch.add_column(sa.Column("other_items", sa.Integer(), nullable=True))
    op.create_index(
        "ix_inbox_body_other_items",
        "inbox_body",
        ["other_items"],
        postgresql_where=sa.text("other_items > 0"),
        sqlite_where=sa.text("other_items > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_body_other_items", table_name="inbox_body")
    with op.batch_alter_table("inbox_body") as batch:
        batch.drop_column("other_items")
