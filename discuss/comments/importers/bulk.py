"""Bulk row writes for the importer, below SQLAlchemy's per-row statement machinery.

An import writes every comment twice (the row and its import_ref) and each new author twice. Through
``session.execute(insert(table), rows)`` SQLAlchemy compiles, processes and (on PostgreSQL) batches them as
``INSERT ... RETURNING`` for ids. Here each column's bind processor (enums, JSON, UTC datetimes) and Python-side
default is looked up once per batch and the rows go to the driver in one call:

- SQLite: ``cursor.executemany`` on one prepared INSERT, ids given by the caller (see ImportWriter._insert);
- PostgreSQL: ``COPY ... FROM STDIN`` (psycopg), ids drawn from the table's sequence first, in one query.

Same transaction as the session (its connection), so a refused file still leaves nothing behind.
"""
from __future__ import annotations

from datetime import timezone

from sqlalchemy import Table, text

from discuss.extensions import db
from discuss.models.types import UTCDateTime

# SQLAlchemy's SQLite DATETIME storage format, written with one strftime instead of its two-step processing
# (UTCDateTime to naive UTC, then a %-format of nine fields): the most expensive part of a row.
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


def _processor(column_type, dialect):
    if dialect.name == "sqlite" and isinstance(column_type, UTCDateTime):
        return _sqlite_utc
    return column_type.dialect_impl(dialect).bind_processor(dialect)


def _sqlite_utc(moment):
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; use discuss.models.types.utcnow()")
    moment = moment.astimezone(timezone.utc)
    if moment.year < 1000:  # strftime does not pad the year to four digits
        return f"{moment.year:04d}" + moment.strftime(SQLITE_DATETIME)[len(str(moment.year)):]
    return moment.strftime(SQLITE_DATETIME)


def next_ids(table: Table, count: int) -> list[int]:
    """``count`` fresh ids from a PostgreSQL table's id sequence, ascending."""
    name = db.session.get_bind().dialect.identifier_preparer.quote(table.name)
    return list(db.session.scalars(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) AS id "
                                        "FROM generate_series(1, :count) ORDER BY id"),
                                   {"table": name, "count": count}))


def write_rows(table: Table, rows: list[dict]) -> None:
    """Insert ``rows`` (dicts keyed by column; all with the same keys) into ``table``."""
    if not rows:
        return
    connection = db.session.connection()
    dialect = connection.dialect
    given = list(rows[0])
    defaults = {}  # Python-side defaults (created_at=utcnow, ...) once per batch; server defaults stay the server's
    for column in table.columns:
        if column.key not in given and column.default is not None:
            default = column.default
            defaults[column.key] = default.arg(None) if default.is_callable else default.arg
    keys = given + list(defaults)
    process = [_processor(table.c[key].type, dialect) for key in keys]
    fixed = [value if value is None or process[i + len(given)] is None else process[i + len(given)](value)
             for i, value in enumerate(defaults.values())]  # the defaults are converted once, not per row
    converting = [(i, process[i]) for i in range(len(given)) if process[i] is not None]

    def values(row: dict) -> tuple:
        out = [row[key] for key in given]
        for i, convert in converting:
            if out[i] is not None:
                out[i] = convert(out[i])
        return (*out, *fixed)

    columns = ", ".join(dialect.identifier_preparer.quote(table.c[key].name) for key in keys)
    target = dialect.identifier_preparer.quote(table.name)
    if dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(values(row))
        return
    connection.exec_driver_sql(f"INSERT INTO {target} ({columns}) VALUES ({', '.join('?' for _ in keys)})",
                               [values(row) for row in rows])
