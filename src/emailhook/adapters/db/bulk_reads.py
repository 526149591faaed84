"""Many rows read in one statement, as plain SQL on the driver: ``... WHERE key IN (keys)``
with typed values back (datetimes aware UTC, as ``UTCDateTime`` reads them). The writes, and
why plain SQL: ``bulk.py``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from emailhook.adapters.db.bulk import Columns, check_names, time_positions


class SelectByIds:
    """``SELECT columns FROM table WHERE id IN (ids) AND <where> ORDER BY id``, typed values back.

    ``where`` is fixed SQL text. Datetimes come back aware UTC, as ``UTCDateTime`` reads them.
    """

    def __init__(self, table: str, columns: Columns, where: str = "") -> None:
        check_names(table, columns)
        names = ", ".join(name for name, _ in columns)
        self._times = time_positions(columns)
        condition = f" AND {where}" if where else ""
        select = f"SELECT {names} FROM {table} WHERE"  # noqa: S608
        self._sqlite = select + " id IN ({})" + condition + " ORDER BY id"
        self._postgres = select + " id = ANY(%b::bigint[])" + condition + " ORDER BY id"

    def fetch(self, connection: Connection, ids: Sequence[int]) -> list[tuple[Any, ...]]:
        """Return the rows of ``ids`` that meet ``where``, by id."""
        return _fetch_in(connection, (self._sqlite, self._postgres), ids, self._times)


class SelectIn:
    """``SELECT columns FROM source WHERE key IN (keys)``, typed values back (datetimes aware
    UTC). ``source`` (a table, or tables joined) and the qualified names are fixed SQL text
    the declaring module writes, never input; the keys are text."""

    def __init__(self, source: str, key: str, columns: Columns) -> None:
        names = ", ".join(name for name, _ in columns)
        self._times = time_positions(columns)
        select = f"SELECT {names} FROM {source} WHERE {key}"  # noqa: S608
        self._sqlite = select + " IN ({})"
        self._postgres = select + " = ANY(%b::text[])"

    def fetch(self, connection: Connection, keys: Sequence[str]) -> list[tuple[Any, ...]]:
        """Return the rows of ``keys`` (at most SQLite's 32766 of them a call)."""
        return _fetch_in(connection, (self._sqlite, self._postgres), keys, self._times)


def _fetch_in(
    connection: Connection,
    sql: tuple[str, str],
    keys: Sequence[Any],
    times: Sequence[int],
) -> list[tuple[Any, ...]]:
    """Run a ``... IN (keys)`` select (``sql``: SQLite's with ``{}`` for the placeholders,
    PostgreSQL's with one array parameter) and return its rows, the values at ``times`` read
    as aware UTC datetimes."""
    if not keys:
        return []
    read: Callable[[Any], datetime | None]
    if connection.dialect.name == "sqlite":
        found = connection.exec_driver_sql(sql[0].format(", ".join("?" * len(keys))), tuple(keys))
        read = _read_sqlite_time
    else:
        found = connection.exec_driver_sql(sql[1], (list(keys),))
        read = _read_time
    if not times:
        return [tuple(row) for row in found]
    rows = []
    for row in found:
        values = list(row)
        for i in times:
            values[i] = read(values[i])
        rows.append(tuple(values))
    return rows


def _read_sqlite_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _read_time(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)
