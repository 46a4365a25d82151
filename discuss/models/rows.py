"""One INSERT for a new object, outside the ORM's unit of work: the posting hot path (issue 19).

``insert_row(obj)`` writes the object's row with a single Core ``INSERT ... RETURNING`` on the
session's connection (so in the session's transaction, committed with it) and copies the stored
row back onto the object: its id, and every column default the INSERT applied. The object stays
out of the session (transient): it is a read-only picture of the row for building answers and
hooks, and nothing flushes it a second time. Profiled (cProfile of a post; README "Scaling:
writes"), the unit of work's flush bookkeeping cost more than the statements themselves.
"""
from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Insert, Table, inspect, insert

from discuss.extensions import db
from discuss.storage import note_write

T = TypeVar("T")
_INSERTS: dict[Table, Insert] = {}


def insert_row(obj: T) -> T:
    """INSERT the row ``obj`` describes (attributes it holds; Python column defaults for the
    rest, as a flush would), and return ``obj`` with every column, id included, as stored."""
    mapper = inspect(type(obj))
    table = mapper.local_table
    held = obj.__dict__
    values = {prop.columns[0].key: held[prop.key] for prop in mapper.column_attrs if prop.key in held}
    statement = _INSERTS.get(table)
    if statement is None:  # built once per table, so SQLAlchemy's compiled cache is hit cheaply
        statement = _INSERTS[table] = insert(table).returning(*table.columns)
    row = db.session.connection().execute(statement, values).one()
    note_write(db.session())  # a commit that wrote rows clears a noted write failure (storage)
    for prop in mapper.column_attrs:
        setattr(obj, prop.key, row._mapping[prop.columns[0]])
    return obj
