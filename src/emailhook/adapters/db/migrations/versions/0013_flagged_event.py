"""flagged_event: stored events kept but left out of contact state and suppressions

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 18:40:00.000000

Before issue 28 an event whose recipient was not an e-mail address (``@``, ``a\\nb@x``, a
right-to-left override) was stored, put in contact state and on the suppression list.
``emailhook state rebuild`` finds such events by the one definition of an address
(``domain.addresses``: Python, not SQL, so not here), reports them and flags them in this
table; the derived tables are rebuilt without them. The events themselves stay.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from emailhook.adapters.db.models import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flagged_event",
        sa.Column(
            "event_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("flag", sa.String(length=32), nullable=False),
        sa.Column("flagged_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_flagged_event")),
    )


def downgrade() -> None:
    op.drop_table("flagged_event")
