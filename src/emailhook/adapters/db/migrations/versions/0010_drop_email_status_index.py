"""drop ix_email_callback_email_status: ix_email_callback_email_event_type serves its reads

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 19:00:00.000000

The soft-bounce rule reads bounces by ``email`` and ``event_type`` since the providers
(0005); ``?email=`` and ``?email=&status=`` read an address's few events by the leading
``email`` of the other index. The dropped index cost 62 bytes an event on PostgreSQL (46 on
SQLite) and was the second most read index of a drain at 10 million events (docs/growth.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_email_callback_email_status", table_name="email_callback")


def downgrade() -> None:
    op.create_index(
        "ix_email_callback_email_status", "email_callback", ["email", "status"], unique=False
    )
