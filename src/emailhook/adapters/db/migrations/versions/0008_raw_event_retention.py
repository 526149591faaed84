"""raw event retention: email_callback.raw_rest nullable; event_prune records event prunes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 17:00:00.000000

Past ``EMAILHOOK_RAW_EVENT_RETENTION_DAYS`` an event's ``raw_rest`` is set NULL
(``adapters.store.raw_retention``); every column stays. Past
``EMAILHOOK_EVENT_RETENTION_DAYS`` events are deleted, and each prune leaves an
``event_prune`` row (``state rebuild`` refuses to rebuild from what is left). Downgrade gives
a dropped rest back as ``{}`` (what ``raw_event.restore`` reads a NULL as), so 0007's NOT NULL
holds again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from emailhook.adapters.db.models import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.alter_column("raw_rest", existing_type=sa.JSON(), nullable=True)
    op.create_table(
        "event_prune",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("ran_at", UTCDateTime(), nullable=False),
        sa.Column("received_before", UTCDateTime(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_prune")),
    )


def downgrade() -> None:
    op.drop_table("event_prune")
    op.execute("UPDATE email_callback SET raw_rest = '{}' WHERE raw_rest IS NULL")
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.alter_column("raw_rest", existing_type=sa.JSON(), nullable=False)
