"""other channels, suppressions that end, reconciliation from Infobip's logs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:40:00.000000

``inbox_body.other_items`` counts the items of other channels than e-mail (SMS, WhatsApp, ...)
that a body held. Suppressions that can end: the evidence (first and latest suppressing time
per address, reason and source), the lifts (latest removal, UNBLOCK, delivery per address),
operators' removals, and the list's source and end. Existing suppressions become evidence of
source ``emailhook`` (``state rebuild`` recomputes it all from the events anyway).
Reconciliation from Infobip's logs: a watermark per log, and a row per run.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from emailhook.adapters.db.models import UTCDateTime

revision: str = "0006"
# Written beside 0005 (providers); the lead re-chains it after 0005 when merging.
down_revision: str | None = "0005"
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
    with op.batch_alter_table("suppression") as batch:
        batch.add_column(
            sa.Column("source", sa.String(16), server_default="emailhook", nullable=False)
        )
        batch.add_column(sa.Column("until", UTCDateTime(), nullable=True))
    op.create_table(
        "suppression_evidence",
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("first_at", UTCDateTime(), nullable=False),
        sa.Column("last_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("email", "reason", "source", name=op.f("pk_suppression_evidence")),
    )
    op.execute(
        "INSERT INTO suppression_evidence (email, reason, source, first_at, last_at)"
        " SELECT email, reason, 'emailhook', since, since FROM suppression"
    )
    op.create_table(
        "suppression_lift",
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("removed_at", UTCDateTime(), nullable=True),
        sa.Column("unblocked_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_suppression_lift")),
    )
    op.create_table(
        "suppression_removal",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("removed_at", UTCDateTime(), nullable=False),
        sa.Column("operator", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("was_reason", sa.String(32), nullable=True),
        sa.Column("was_source", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppression_removal")),
    )
    op.create_index(
        op.f("ix_suppression_removal_email"), "suppression_removal", ["email"], unique=False
    )
    op.create_table(
        "reconcile_watermark",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("watermark", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_reconcile_watermark")),
    )
    op.create_table(
        "reconcile_run",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("gap_before", UTCDateTime(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("logs_read", sa.Integer(), nullable=False),
        sa.Column("events_new", sa.Integer(), nullable=False),
        sa.Column("events_known", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconcile_run")),
    )
    op.create_index(
        op.f("ix_reconcile_run_started_at"), "reconcile_run", ["started_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_reconcile_run_started_at"), table_name="reconcile_run")
    op.drop_table("reconcile_run")
    op.drop_table("reconcile_watermark")
    op.drop_index(op.f("ix_suppression_removal_email"), table_name="suppression_removal")
    op.drop_table("suppression_removal")
    op.drop_table("suppression_lift")
    op.drop_table("suppression_evidence")
    with op.batch_alter_table("suppression") as batch:
        batch.drop_column("until")
        batch.drop_column("source")
    op.drop_index("ix_inbox_body_other_items", table_name="inbox_body")
    with op.batch_alter_table("inbox_body") as batch:
        batch.drop_column("other_items")
