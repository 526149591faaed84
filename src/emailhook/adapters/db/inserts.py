"""``INSERT ... ON CONFLICT DO NOTHING`` on either database, and the row it makes sure of."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import Base, table_of

M = TypeVar("M", bound=Base)


def insert_if_missing(
    executor: Session | Connection, model: type[Base], key: str, **values: Any
) -> bool:
    """Insert ``values`` unless a row with the same ``key`` column exists; return whether this
    call inserted it (RETURNING, not rowcount: psycopg reports -1 for ON CONFLICT)."""
    table = table_of(model)
    bind = executor.get_bind() if isinstance(executor, Session) else executor
    dialect = postgresql if bind.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[key])
        .returning(table.c[key])
    )
    return executor.execute(stmt).first() is not None


def locked_row(session: Session, model: type[M], key: str, **values: Any) -> M:
    """Return the row of ``model`` whose ``key`` column is ``values[key]``, locked until the
    transaction ends; made with ``values`` by whichever caller gets there first."""
    insert_if_missing(session, model, key, **values)
    column = getattr(model, key)
    stmt = select(model).where(column == values[key]).with_for_update()
    return session.execute(stmt).scalar_one()
