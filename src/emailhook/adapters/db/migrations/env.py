"""Alembic environment: runs on the connection ``emailhook.adapters.db.schema`` hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from emailhook.adapters.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several processes may start at once; one migrates, the others wait and find
            # nothing left to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(4242424242)"))
        context.run_migrations()


run_migrations_online()
