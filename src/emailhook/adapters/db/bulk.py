"""Many rows in one statement, as plain SQL on the driver: the worker's batch reads and writes.

The worker stores thousands of events a second, and SQLAlchemy's statement building cost more
than the database itself (docs/performance.md, "Drain"). Each statement here is SQL text built
once: on SQLite, ``executemany`` of one INSERT, UPDATE or upsert, or, when rows must come back,
a multi-row ``VALUES ... RETURNING`` in chunks under SQLite's limit of 32766 parameters; on
PostgreSQL, one ``INSERT ... SELECT * FROM unnest(%b::text[], ...)`` (or ``UPDATE ... FROM
unnest(...)``) with an array per column, sent in binary: one short statement whatever the
number of rows, whose parsing psycopg caches and which the server prepares.

A statement's columns come from a model's table (:meth:`BulkInsert.into`), and its rows are
built by column name (``insert.row({...})``): no position to get wrong. Values are the driver's
own: datetimes aware (written on SQLite as the text SQLAlchemy's DATETIME writes and reads,
naive UTC, so both paths read and compare the same), JSON columns as JSON text. Statements run
through ``Connection.exec_driver_sql``: errors come as SQLAlchemy's (a lock is an
OperationalError) and a lost connection is invalidated, as on every other path.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Connection, Integer, LargeBinary, String, Table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.types import TypeEngine

from emailhook.adapters.db.models import UTCDateTime

#: one row's values, in the order of the statement's columns
Row = Sequence[Any]

#: rows per multi-row VALUES on SQLite: 27 columns x 1000 rows stays under 32766 parameters
_SQLITE_MAX_PARAMETERS = 32_000


class Kind(enum.Enum):
    """A column's type, as PostgreSQL's arrays name it."""

    TEXT = "text"
    INTEGER = "integer"
    BIGINT = "bigint"
    BOOLEAN = "boolean"
    BYTES = "bytea"
    TIME = "timestamptz"
    JSON = "jsonb"
    #: JSON kept as text (never queried inside): smaller than JSONB for small documents
    JSON_TEXT = "json"


Columns = Sequence[tuple[str, Kind]]

_POSTGRESQL = PGDialect_psycopg()  # type: ignore[no-untyped-call]

#: a model column's type -> its kind; the first that matches (BigInteger is an Integer)
_KINDS: tuple[tuple[type[TypeEngine[Any]], Kind], ...] = (
    (UTCDateTime, Kind.TIME),
    (LargeBinary, Kind.BYTES),
    (Boolean, Kind.BOOLEAN),
    (BigInteger, Kind.BIGINT),
    (Integer, Kind.INTEGER),
    (JSON, Kind.JSON),
    (String, Kind.TEXT),  # Text is a String
)


def _kind_of(column_type: TypeEngine[Any]) -> Kind | None:
    kind = next((k for t, k in _KINDS if isinstance(column_type, t)), None)
    if kind is Kind.JSON and not isinstance(column_type.dialect_impl(_POSTGRESQL), JSONB):
        return Kind.JSON_TEXT  # plain JSON is text on PostgreSQL too (``raw_rest``)
    return kind


def table_columns(
    table: Table, *, only: Collection[str] | None = None, leave_out: Collection[str] = ("id",)
) -> list[tuple[str, Kind]]:
    """Return ``table``'s columns (``only`` those, else all but ``leave_out``) with their
    kinds, in the table's order: a statement's columns come from the model, never a copy."""
    columns = []
    for column in table.columns:
        if (only is not None and column.name not in only) or column.name in leave_out:
            continue
        kind = _kind_of(column.type)
        if kind is None:
            raise TypeError(f"{table.name}.{column.name}: no bulk kind for {column.type!r}")
        columns.append((column.name, kind))
    if only is not None and len(columns) != len(only):
        missing = set(only) - {name for name, _ in columns}
        raise ValueError(f"{table.name} has no columns {sorted(missing)}")
    return columns


class RowOrder:
    """Builds a statement's row from values by column name: no position to get wrong."""

    def __init__(self, columns: Columns) -> None:
        self._names = frozenset(name for name, _ in columns)
        self._get = itemgetter(*(name for name, _ in columns))

    def __call__(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """Return ``values`` in the statement's column order; every column exactly once."""
        if len(values) != len(self._names):
            extra, missing = values.keys() - self._names, self._names - values.keys()
            raise ValueError(f"row values: missing {sorted(missing)}, unknown {sorted(extra)}")
        row: tuple[Any, ...] = self._get(values)
        return row


@dataclass(frozen=True, slots=True)
class Prepared:
    """Rows in one database's driver values: tuples for SQLite, one array per column else."""

    dialect: str
    values: Sequence[Any]


class BulkInsert:
    """``INSERT INTO table (columns) <rows> <tail>`` for any number of rows at once.

    ``tail`` is what follows the rows (``ON CONFLICT ...``, ``RETURNING ...``): the same text
    on both databases.
    """

    def __init__(self, table: str, columns: Columns, tail: str = "") -> None:
        check_names(table, columns)
        #: turns a mapping of column name to value into this statement's row
        self.row = RowOrder(columns)
        names = ", ".join(name for name, _ in columns)
        self._width = len(columns)
        self._times = time_positions(columns)
        head = f"INSERT INTO {table} ({names}) "
        self._sqlite_row = "(" + ", ".join("?" * self._width) + ")"
        self._sqlite_head, self._tail = head + "VALUES ", f" {tail}" if tail else ""
        self._sqlite = self._sqlite_head + self._sqlite_row + self._tail
        self._postgres = f"{head}SELECT * FROM {_unnest(columns)}{self._tail}"  # noqa: S608

    @classmethod
    def into(
        cls, table: Table, tail: str = "", *, only: Collection[str] | None = None
    ) -> BulkInsert:
        """Return the insert of ``table``'s columns (``only`` those, else all but ``id``)."""
        return cls(table.name, table_columns(table, only=only), tail)

    def execute(self, connection: Connection, rows: Sequence[Row]) -> None:
        """Insert ``rows``."""
        if not rows:
            return
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(self._sqlite, _for_sqlite(rows, self._times))
        else:
            connection.exec_driver_sql(self._postgres, _arrays(rows, self._width))

    def returning(self, connection: Connection, rows: Sequence[Row]) -> list[tuple[Any, ...]]:
        """Insert ``rows``; return what the tail's ``RETURNING`` names, for each row inserted."""
        return self.returning_prepared(connection, self.prepare(rows, connection.dialect.name))

    def prepare(self, rows: Sequence[Row], dialect: str) -> Prepared:
        """Return ``rows`` as ``dialect``'s driver takes them, ready for ``returning_prepared``.

        Pure work, done before a transaction begins: on SQLite the conversions then do not
        hold the one write lock.
        """
        if not rows:
            return Prepared(dialect, ())
        if dialect == "sqlite":
            return Prepared(dialect, _for_sqlite(rows, self._times))
        return Prepared(dialect, _arrays(rows, self._width))

    def returning_prepared(self, connection: Connection, rows: Prepared) -> list[tuple[Any, ...]]:
        """``returning`` for rows already prepared for this connection's database."""
        if rows.dialect != connection.dialect.name:
            raise ValueError(f"rows prepared for {rows.dialect}, not {connection.dialect.name}")
        if not rows.values:
            return []
        if rows.dialect != "sqlite":
            result = connection.exec_driver_sql(self._postgres, rows.values)
            return [tuple(row) for row in result]
        # executemany drops what RETURNING gives: one multi-row VALUES per chunk instead.
        prepared = rows.values
        chunk = max(1, _SQLITE_MAX_PARAMETERS // self._width)
        returned: list[tuple[Any, ...]] = []
        for start in range(0, len(prepared), chunk):
            part = prepared[start : start + chunk]
            sql = self._sqlite_head + ", ".join([self._sqlite_row] * len(part)) + self._tail
            params = tuple(value for row in part for value in row)
            returned += [tuple(row) for row in connection.exec_driver_sql(sql, params)]
        return returned


class BulkUpdate:
    """``UPDATE table SET columns ... WHERE key = ...`` for many rows, each with its own values.

    A row is the key first, then the columns in order; ``also`` is a fixed assignment added to
    every row (``last_error = NULL``).
    """

    def __init__(self, table: str, key: tuple[str, Kind], columns: Columns, also: str = "") -> None:
        check_names(table, [key, *columns])
        key_name, extra = key[0], [also] if also else []
        self._width = len(columns) + 1
        self._times = time_positions([key, *columns])
        sets = ", ".join([f"{name} = ?" for name, _ in columns] + extra)
        self._sqlite = f"UPDATE {table} SET {sets} WHERE {key_name} = ?"  # noqa: S608
        names = ", ".join(name for name, _ in [key, *columns])
        sets = ", ".join([f"{name} = u.{name}" for name, _ in columns] + extra)
        self._postgres = (
            f"UPDATE {table} SET {sets} FROM {_unnest([key, *columns])} AS u({names})"  # noqa: S608
            f" WHERE {table}.{key_name} = u.{key_name}"
        )

    def execute(self, connection: Connection, rows: Sequence[Row]) -> None:
        """Update one row of the table per element of ``rows``."""
        if not rows:
            return
        if connection.dialect.name == "sqlite":
            # The key comes last in the UPDATE's parameters.
            shifted = [(*row[1:], row[0]) for row in _for_sqlite(rows, self._times)]
            connection.exec_driver_sql(self._sqlite, shifted)
        else:
            connection.exec_driver_sql(self._postgres, _arrays(rows, self._width))


def sqlite_time(value: datetime | None) -> str | None:
    """Return a datetime as SQLAlchemy's SQLite DATETIME text: naive UTC, microseconds."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def check_names(table: str, columns: Columns) -> None:
    # Statements are built from the names their modules declare, never from input.
    for name in (table, *(name for name, _ in columns)):
        if not name.isidentifier():
            raise ValueError(f"not a plain SQL name: {name!r}")


def _unnest(columns: Columns) -> str:
    # %b: binary arrays, dumped in C; the text format escapes every element in Python (7x slower).
    return "unnest(" + ", ".join(f"%b::{kind.value}[]" for _, kind in columns) + ")"


def time_positions(columns: Columns) -> tuple[int, ...]:
    return tuple(i for i, (_, kind) in enumerate(columns) if kind is Kind.TIME)


def _for_sqlite(rows: Sequence[Row], times: tuple[int, ...]) -> list[tuple[Any, ...]]:
    if not times:
        return [tuple(row) for row in rows]
    prepared = []
    # most rows of a statement share their times (``now``): each converted once
    seen: dict[datetime | None, str | None] = {}
    for row in rows:
        values = list(row)
        for i in times:
            value = values[i]
            text = seen.get(value, _UNSEEN)
            if text is _UNSEEN:
                text = seen[value] = sqlite_time(value)
            values[i] = text
        prepared.append(tuple(values))
    return prepared


_UNSEEN: Any = object()


def _arrays(rows: Sequence[Row], width: int) -> tuple[list[Any], ...]:
    # One list per column: psycopg sends each as one array parameter.
    columns = tuple(list(column) for column in zip(*rows, strict=True))
    if len(columns) != width:
        raise ValueError(f"rows of {len(columns)} values for {width} columns")
    return columns
