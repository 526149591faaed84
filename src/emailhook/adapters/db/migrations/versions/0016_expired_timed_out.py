"""Infobip's EXPIRED reports: ``failed``, ``timed_out``

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 00:10:00.000000

Infobip's parser now gives an EXPIRED report the reject reason ``timed_out`` (anymail's word
for a message whose validity ran out) beside its event type ``failed``. Reports stored before
are given it here, so that old and new rows read alike. Nothing derived changes: a ``failed``
event is REJECTED in contact state whatever its reason, and the rollup does not count reasons.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVENTS = sa.table(
    "email_callback",
    sa.column("provider"),
    sa.column("status"),
    sa.column("event_type"),
    sa.column("reject_reason"),
)


def upgrade() -> None:
    op.execute(
        _EVENTS.update()
        .where(
            _EVENTS.c.provider == "infobip",
            _EVENTS.c.status == "EXPIRED",
            _EVENTS.c.event_type == "failed",
            _EVENTS.c.reject_reason.is_(None),
        )
        .values(reject_reason="timed_out")
    )


def downgrade() -> None:
    op.execute(
        _EVENTS.update()
        .where(
            _EVENTS.c.provider == "infobip",
            _EVENTS.c.status == "EXPIRED",
            _EVENTS.c.reject_reason == "timed_out",
        )
        .values(reject_reason=None)
    )
