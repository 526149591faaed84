"""send_circuit, send_attempt.provider: failover between send providers

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 21:20:00.000000

Each provider's circuit (failures in a row, open until when) is shared by every worker and
host; each attempt names the provider it called, since a message may fail over from one
provider to the next of its route.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from emailhook.adapters.db.models import UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_circuit",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("opened_until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_send_circuit")),
    )
    with op.batch_alter_table("send_attempt") as batch:
        batch.add_column(sa.Column("provider", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("send_attempt") as batch:
        batch.drop_column("provider")
    op.drop_table("send_circuit")
