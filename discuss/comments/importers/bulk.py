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

from sqlalchemy import Table, text

from discuss.extensions import db


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
    processors = [table.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in keys]
    fixed = [defaults[key] for key in defaults]

    def values(row: dict) -> tuple:
        raw = [row[key] for key in given] + fixed
        return tuple(value if process is None or value is None else process(value)
                     for value, process in zip(raw, processors))

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
