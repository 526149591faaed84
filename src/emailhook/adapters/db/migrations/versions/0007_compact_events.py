"""compact events: the raw event kept once, 21-byte keys, no callback_data_raw, no inbox_id FK

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 16:00:00.000000

``email_callback.raw`` and ``callback_data_raw`` held again what the columns and
``callback_data`` hold (``callbackData`` three times): ``raw_rest`` keeps only the rest
(``domain.raw_event``; Infobip's raw items, the other providers' are kept whole, as sent), as
JSON text (smaller than JSONB, and never queried inside), and the dashboard gives the raw event
back whole. ``event_key`` goes from text (43 characters for a digest key) to 21 bytes
(``adapters.store.event_keys.stored_key``: a kind byte per prefix or provider and the 20
digest bytes), for every key stored so far: Infobip's ``ev:``, ``ev#``, ``dr:``, ``tr:``,
``bl:`` and each provider's ``<provider>:<hex>``. ``inbox_id`` loses its foreign key and
index: no query reads events by body, and pruning old bodies must not rewrite their events
(``ON DELETE SET NULL`` did). On PostgreSQL the receipt-time index also carries the id
(``INCLUDE``), so a time window's newest ids come from the index alone.

``callback_data_raw`` was read only by the reconciler (Infobip's callbackData as sent, which
Infobip's raw item holds: ``callbackData``); another provider's text came from its raw item,
which is kept whole.

Existing rows are converted in one pass, ``_BATCH`` rows per statement (the old ``raw`` still
holds ``callbackData`` as sent, so a text that no encoding writes again stays in the rest).
Downgrade gives ``raw`` back whole, ``callback_data_raw`` from Infobip's ``callbackData`` text
(NULL for the other providers: nothing of 0006 reads theirs), and the keys as text
(``event_keys.key_text``: every key the parsers make comes back as it was).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from emailhook.adapters.db.models import UTCDateTime
from emailhook.adapters.store.event_keys import key_text, stored_key
from emailhook.domain import raw_event

revision: str = "0007"
down_revision: str | None = "0006"
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
    "raw_rest": sa.JSON(),
    "error_permanent": sa.Boolean(),
    "callback_data_raw": sa.Text(),
    "event_key": sa.Text(),
    "new_key": sa.LargeBinary(),
}

Change = Callable[[Mapping[str, Any], dict[str, Any]], dict[str, Any]]


def _convert(read: Sequence[str], write: Sequence[str], change: Change) -> None:
    """Set the ``write`` columns of every row from its ``read`` columns, in batches."""
    names = ["id", "provider", "kind", *_NAMES, *read, *write]
    table = sa.table("email_callback", *(sa.column(n, _TYPES.get(n)) for n in dict.fromkeys(names)))
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(
            sa.select(*(table.c[n] for n in ["id", "provider", "kind", *_NAMES, *read]))
            .where(table.c.id > after)
            .order_by(table.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        updates = []
        for row in rows:
            values = dict(row._mapping)
            columns = {
                field: values[name] for field, name in zip(raw_event.COLUMNS, _NAMES, strict=True)
            }
            updates.append({"row_id": values["id"], **change(values, columns)})
        statement = table.update().where(table.c.id == sa.bindparam("row_id"))
        bind.execute(statement.values({n: sa.bindparam(n) for n in write}), updates)
        after = rows[-1][0]


def _compact(row: Mapping[str, Any], columns: dict[str, Any]) -> dict[str, Any]:
    return {
        "raw_rest": raw_event.rest(row["raw"] or {}, row["provider"], row["kind"], columns),
        "new_key": stored_key(row["event_key"]),
    }


def upgrade() -> None:
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw_rest", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("new_key", sa.LargeBinary(21), nullable=True))
    _convert(["raw", "event_key"], ["raw_rest", "new_key"], _compact)
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.alter_column("raw_rest", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_index("ix_email_callback_inbox_id")
        batch_op.drop_constraint("fk_email_callback_inbox_id_inbox_body", type_="foreignkey")
        batch_op.drop_constraint("uq_email_callback_event_key", type_="unique")
        batch_op.drop_column("event_key")
        batch_op.drop_column("raw")
        batch_op.drop_column("callback_data_raw")
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.alter_column(
            "new_key",
            new_column_name="event_key",
            existing_type=sa.LargeBinary(21),
            nullable=False,
        )
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_email_callback_event_key", ["event_key"])
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_email_callback_data_recebimento", table_name="email_callback")
        op.create_index(
            "ix_email_callback_data_recebimento",
            "email_callback",
            ["data_recebimento"],
            postgresql_include=["id"],
        )


def _whole(row: Mapping[str, Any], columns: dict[str, Any]) -> dict[str, Any]:
    raw = raw_event.restore(row["raw_rest"] or {}, row["provider"], row["kind"], columns)
    sent = raw.get("callbackData") if row["provider"] == "infobip" else None
    return {
        "raw": raw,
        "callback_data_raw": sent if isinstance(sent, str) else None,
        "event_key": key_text(bytes(row["new_key"]), columns["provider_event_id"]),
    }


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_email_callback_data_recebimento", table_name="email_callback")
        op.create_index(
            "ix_email_callback_data_recebimento", "email_callback", ["data_recebimento"]
        )
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.drop_constraint("uq_email_callback_event_key", type_="unique")
        batch_op.alter_column(
            "event_key", new_column_name="new_key", existing_type=sa.LargeBinary(21)
        )
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw", _JSON, nullable=True))
        batch_op.add_column(sa.Column("callback_data_raw", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("event_key", sa.String(128), nullable=True))
    _convert(["raw_rest", "new_key"], ["raw", "callback_data_raw", "event_key"], _whole)
    with op.batch_alter_table("email_callback", schema=None) as batch_op:
        batch_op.alter_column("raw", existing_type=_JSON, nullable=False)
        batch_op.alter_column("event_key", existing_type=sa.String(128), nullable=False)
        batch_op.create_unique_constraint("uq_email_callback_event_key", ["event_key"])
        batch_op.drop_column("raw_rest")
        batch_op.drop_column("new_key")
        batch_op.create_foreign_key(
            "fk_email_callback_inbox_id_inbox_body",
            "inbox_body",
            ["inbox_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_email_callback_inbox_id", ["inbox_id"], unique=False)
