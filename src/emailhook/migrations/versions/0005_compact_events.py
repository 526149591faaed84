"""compact events: the raw event kept once, no callback_data_raw, no inbox_id foreign key

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 16:00:00.000000

``email_callback.raw`` and ``callback_data_raw`` held again what the columns and
``callback_data`` hold (``callbackData`` three times): ``raw_rest`` keeps only the rest
(``domain.raw_event``), and the dashboard gives the raw event back whole. Existing rows are
converted in batches of ``_BATCH`` (the old ``raw`` still holds ``callbackData`` as sent, so a
text no encoding writes again stays in the rest). ``inbox_id`` loses its foreign key and
index: no query reads events by body, and pruning old bodies must not rewrite their events
(``ON DELETE SET NULL`` did). Downgrade gives ``raw`` back whole; ``callback_data_raw`` comes
back from the raw event's ``callbackData`` text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from emailhook.adapters.models import UTCDateTime
from emailhook.domain import raw_event

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
#: raw_event's columns as email_callback names them
_NAMES = [{"message_id": "id_externo"}.get(name, name) for name in raw_event.COLUMNS]


#: the types that read back as the models read them (SQLite keeps text and integers)
_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "sent_at": UTCDateTime(),
    "callback_data": _JSON,
    "raw": _JSON,
    "raw_rest": _JSON,
    "error_permanent": sa.Boolean(),
    "callback_data_raw": sa.Text(),
}


def _table(*extra: str) -> sa.TableClause:
    names = ["id", "kind", *_NAMES, *extra]
    return sa.table("email_callback", *(sa.column(name, _TYPES.get(name)) for name in names))


def _convert(source: str, target: str, change: Any) -> None:
    """Set ``target`` from ``source`` on every row, ``_BATCH`` rows per statement."""
    table = _table(source, target, *(["callback_data_raw"] if target == "raw" else []))
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, table.c.kind, table.c[source], *(table.c[n] for n in _NAMES))
            .where(table.c.id > after)
            .order_by(table.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        updates = []
        for row_id, kind, value, *values in rows:
            columns = dict(zip(raw_event.COLUMNS, values, strict=True))
            updates.append({"row_id": row_id, **change(value or {}, kind, columns)})
        bind.execute(
            table.update().where(table.c.id == sa.bindparam("row_id")),
            updates,
        )
        after = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw_rest", _JSON, nullable=True))
    _convert("raw", "raw_rest", _rest)
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.alter_column("raw_rest", existing_type=_JSON, nullable=False)
        batch_op.drop_index("ix_email_callback_inbox_id")
        batch_op.drop_constraint("fk_email_callback_inbox_id_inbox_body", type_="foreignkey")
        batch_op.drop_column("raw")
        batch_op.drop_column("callback_data_raw")


def _rest(raw: dict[str, Any], kind: str, columns: dict[str, Any]) -> dict[str, Any]:
    return {"raw_rest": raw_event.rest(raw, kind, columns)}


def _whole(rest: dict[str, Any], kind: str, columns: dict[str, Any]) -> dict[str, Any]:
    raw = raw_event.restore(rest, kind, columns)
    sent = raw.get("callbackData")
    return {"raw": raw, "callback_data_raw": sent if isinstance(sent, str) else None}


def downgrade() -> None:
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw", _JSON, nullable=True))
        batch_op.add_column(sa.Column("callback_data_raw", sa.Text(), nullable=True))
    _convert("raw_rest", "raw", _whole)
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.alter_column("raw", existing_type=_JSON, nullable=False)
        batch_op.drop_column("raw_rest")
        batch_op.create_foreign_key(
            "fk_email_callback_inbox_id_inbox_body",
            "inbox_body",
            ["inbox_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_email_callback_inbox_id", ["inbox_id"], unique=False)
