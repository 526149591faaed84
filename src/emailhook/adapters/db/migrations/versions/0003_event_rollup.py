"""event rollup for the dashboard, contact state by address

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 13:05:00.000000

The rollup is filled here from the events already stored (one GROUP BY, once); from then on
the worker keeps it. ``emailhook state rebuild`` recomputes it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from emailhook.adapters.db.models import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: models.ROLLUP_TEXT_CHARS when this migration was written
_CHARS = 200
#: ``data_recebimento`` cut to the hour: SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC) text
_HOUR = {
    "sqlite": "substr(data_recebimento, 1, 13) || ':00:00.000000'",
    "postgresql": "date_trunc('hour', data_recebimento AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
}


def upgrade() -> None:
    op.create_table(
        "event_rollup",
        sa.Column("bucket_hour", UTCDateTime(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("campaign", sa.Text(), nullable=False),
        sa.Column("creditor_name", sa.Text(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "bucket_hour", "status", "campaign", "creditor_name", name=op.f("pk_event_rollup")
        ),
    )
    with op.batch_alter_table("contact_email_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_email_state_email"), ["email"], unique=False)
    events = sa.table(
        "email_callback", *(sa.column(c) for c in ("status", "campaign", "creditor_name"))
    )
    rollup = sa.table(
        "event_rollup",
        *(sa.column(c) for c in ("bucket_hour", "status", "campaign", "creditor_name", "events")),
    )
    keys: list[sa.ColumnElement[Any]] = [sa.literal_column(_HOUR[op.get_bind().dialect.name])] + [
        sa.func.substr(sa.func.coalesce(events.c[name], ""), 1, _CHARS)
        for name in ("status", "campaign", "creditor_name")
    ]
    counted = sa.select(*keys, sa.func.count()).group_by(sa.text("1, 2, 3, 4"))
    op.execute(rollup.insert().from_select(list(rollup.c.keys()), counted))


def downgrade() -> None:
    with op.batch_alter_table("contact_email_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_email_state_email"))
    op.drop_table("event_rollup")
