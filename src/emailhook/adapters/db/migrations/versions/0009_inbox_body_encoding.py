"""inbox bodies deflated: inbox_body.body_encoding (0 as received, 1 zlib)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:00:00.000000

New bodies are stored deflated when that is smaller (``adapters.db.body_encoding``); the
bodies already stored keep their bytes and read as encoding 0, so the upgrade rewrites no row
(a constant default: PostgreSQL adds the column without touching the table). The downgrade
inflates the deflated bodies back in place, then drops the column.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("inbox_body", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("body_encoding", sa.SmallInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    connection = op.get_bind()
    select = sa.text(
        "SELECT id, body FROM inbox_body WHERE body_encoding = 1 AND id > :after"
        " ORDER BY id LIMIT :n"
    )
    inflate = sa.text("UPDATE inbox_body SET body = :body, body_encoding = 0 WHERE id = :id")
    after = 0
    while rows := connection.execute(select, {"after": after, "n": _BATCH}).all():
        connection.execute(
            inflate, [{"id": row.id, "body": zlib.decompress(row.body)} for row in rows]
        )
        after = rows[-1].id
    with op.batch_alter_table("inbox_body", schema=None) as batch_op:
        batch_op.drop_column("body_encoding")
