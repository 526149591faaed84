"""many providers, one vocabulary

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 15:40:00.000000

The inbox keeps who sent a body and what its parsing needs besides the bytes (content type,
kept headers); every event gets ``provider``, ``event_type``, ``bounce_class`` and
``reject_reason``. Infobip's events stored before are given the vocabulary here, with the
mapping of ``providers.infobip.parsing`` written out as SQL (a migration does not follow later
changes of the code), and the rollup is rebuilt with provider and event type in its key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from emailhook.adapters.db.models import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: models.ROLLUP_TEXT_CHARS when this migration was written
_CHARS = 200
#: ``data_recebimento`` cut to the hour, as in 0003
_HOUR = {
    "sqlite": "substr(data_recebimento, 1, 13) || ':00:00.000000'",
    "postgresql": "date_trunc('hour', data_recebimento AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
}
#: Infobip statuses that map one to one (``providers.infobip.parsing``)
_ONE_TO_ONE = {
    "DELIVERED": "delivered",
    "PENDING": "queued",
    "REJECTED": "rejected",
    "EXPIRED": "failed",
    "OPENED": "opened",
    "CLICKED": "clicked",
    "UNSUBSCRIBED": "unsubscribed",
    "COMPLAINED": "complained",
    "LATE_BOUNCE": "bounced",
}
#: Infobip's refusals for an earlier event, and the reason they give
_SUPPRESSION_CODES = {6003: "unsubscribed", 6034: "bounced", 6035: "spam"}
#: permanent error codes of reports without ``error.permanent``
_HARD_CODES = (6006, 6009, 6012, 6037)


def upgrade() -> None:
    with op.batch_alter_table("inbox_body", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("provider", sa.String(length=32), server_default="infobip", nullable=False)
        )
        batch_op.add_column(sa.Column("content_type", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("headers", _json(), nullable=True))
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("provider", sa.String(length=32), server_default="infobip", nullable=False)
        )
        batch_op.add_column(
            sa.Column("event_type", sa.String(length=16), server_default="unknown", nullable=False)
        )
        batch_op.add_column(sa.Column("bounce_class", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("reject_reason", sa.String(length=16), nullable=True))
    _backfill_infobip()
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.create_index(
            "ix_email_callback_email_event_type", ["email", "event_type"], unique=False
        )
    op.drop_table("event_rollup")
    _create_rollup(("provider", "event_type"))
    _fill_rollup(("provider", "event_type"))


def downgrade() -> None:
    op.drop_table("event_rollup")
    _create_rollup(())
    _fill_rollup(())
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.drop_index("ix_email_callback_email_event_type")
        for column in ("reject_reason", "bounce_class", "event_type", "provider"):
            batch_op.drop_column(column)
    with op.batch_alter_table("inbox_body", schema=None) as batch_op:
        for column in ("headers", "content_type", "provider"):
            batch_op.drop_column(column)


def _json() -> sa.types.TypeEngine[Any]:
    from sqlalchemy.dialects.postgresql import JSONB

    return sa.JSON().with_variant(JSONB(), "postgresql")


def _backfill_infobip() -> None:
    events = sa.table(
        "email_callback",
        *(sa.column(name) for name in ("status", "provider", "event_type", "bounce_class")),
        sa.column("error_permanent", sa.Boolean()),
        sa.column("error_id", sa.BigInteger()),
        sa.column("reject_reason"),
    )
    status, error_id, permanent = events.c.status, events.c.error_id, events.c.error_permanent
    refusal = status.in_(("UNDELIVERABLE", "REJECTED"))
    suppressed = sa.and_(refusal, error_id.in_(list(_SUPPRESSION_CODES)))
    event_type = sa.case(
        (suppressed, "rejected"),
        (status == "UNDELIVERABLE", "bounced"),
        *((status == name, word) for name, word in _ONE_TO_ONE.items()),
        else_="unknown",
    )
    bounce_class = sa.case(
        (suppressed, None),
        (status == "LATE_BOUNCE", "hard"),
        (
            status == "UNDELIVERABLE",
            sa.case(
                (permanent.is_(sa.true()), "hard"),
                (permanent.is_(sa.false()), "soft"),
                (error_id.in_(_HARD_CODES), "hard"),
                else_="soft",
            ),
        ),
        else_=None,
    )
    reject_reason = sa.case(
        *((sa.and_(refusal, error_id == code), word) for code, word in _SUPPRESSION_CODES.items()),
        else_=None,
    )
    op.execute(
        events.update()
        .where(events.c.provider == "infobip")
        .values(event_type=event_type, bounce_class=bounce_class, reject_reason=reject_reason)
    )


def _create_rollup(extra: tuple[str, ...]) -> None:
    keys = ("bucket_hour", *extra, "status", "campaign", "creditor_name")
    op.create_table(
        "event_rollup",
        sa.Column("bucket_hour", UTCDateTime(), nullable=False),
        *(
            sa.Column(name, sa.String(length=32 if name == "provider" else 16), nullable=False)
            for name in extra
        ),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("campaign", sa.Text(), nullable=False),
        sa.Column("creditor_name", sa.Text(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*keys, name=op.f("pk_event_rollup")),
    )


def _fill_rollup(extra: tuple[str, ...]) -> None:
    texts = ("status", "campaign", "creditor_name")
    events = sa.table("email_callback", *(sa.column(c) for c in (*extra, *texts)))
    rollup = sa.table(
        "event_rollup",
        *(sa.column(c) for c in ("bucket_hour", *extra, *texts, "events")),
    )
    keys: list[sa.ColumnElement[Any]] = [
        sa.literal_column(_HOUR[op.get_bind().dialect.name]),
        *(events.c[name] for name in extra),
        *(sa.func.substr(sa.func.coalesce(events.c[name], ""), 1, _CHARS) for name in texts),
    ]
    positions = ", ".join(str(i + 1) for i in range(len(keys)))
    counted = sa.select(*keys, sa.func.count()).group_by(sa.text(positions))
    op.execute(rollup.insert().from_select(list(rollup.c.keys()), counted))
