"""Stored queue totals: how many comments each site has in each status, kept by the database.

Counting a queue at a million comments read tens of thousands to a million index entries on every
dashboard page (bench/scale.py, issue #19). ``queue_total`` holds the counts instead, one row per
site, status and shard; triggers on ``comment`` add and subtract in the same statement (so the same
transaction) as every insert, status change and delete. Being triggers, no write path can forget
them: the pipeline, moderation actions, bulk actions, undo, rescoring, imports (bulk INSERTs),
privacy deletes, restores and any raw SQL all go through them. tests/test_queue_totals.py
compares the rows with a real COUNT after every kind of status change.

Shards (``thread_id % SHARDS``) spread the rows a busy site's posts update, so two posts on
different threads rarely wait for each other's row lock; a total is the sum of a site's shards.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable

from sqlalchemy import DDL, JSON, Date, ForeignKey, Integer, Select, String, delete, event, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.orm import Mapped, mapped_column

from discuss.extensions import db
from discuss.models.enums import CommentStatus
from discuss.models.types import UTCDateTime, utcnow

SHARDS = 16


class QueueTotal(db.Model):
    __tablename__ = "queue_total"

    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer, default=0)


class StatsDay(db.Model):
    """One closed day of a site's queue health (moderation/stats.py), computed once and kept.

    The stats page read every audit row of its window: 926 ms for 30 days at a million comments
    (bench/scale.py, issue #19). A day that is over does not change, except when one of its
    decisions is undone or a backup or import writes into the past: those forget the days they
    touch (``forget_days``) and the next page computes them again."""
    __tablename__ = "stats_day"

    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def forget_days(site_id: int, days: Iterable[date] | None = None) -> None:
    """Drop stored days of a site (all of them when ``days`` is None), in the caller's transaction."""
    statement = delete(StatsDay).where(StatsDay.site_id == site_id)
    if days is not None:
        statement = statement.where(StatsDay.day.in_(sorted(set(days))))
    db.session.execute(statement)


def lock_queue_totals(site_ids: Iterable[int]) -> None:
    """Before a transaction changes the status of several comments: take every counter of these sites,
    in key order, at once (PostgreSQL; SQLite has one writer at a time anyway).

    Each status change locks its two counters in key order, but a transaction that changes many
    comments collects counters row by row, out of order across rows: a ban (published -> rejected,
    then pending -> rejected) and an approve (pending -> published) in the same shard each held
    one counter the other needed (tests/test_queue_totals.py). Missing counters are created first,
    so every one of them can be locked."""
    sites = sorted(set(site_ids))
    if not sites or db.session.get_bind().dialect.name != "postgresql":
        return
    table = QueueTotal.__table__
    keys = [{"site_id": site, "status": status.name, "shard": shard, "n": 0}
            for site in sites for status in sorted(CommentStatus, key=lambda s: s.name) for shard in range(SHARDS)]
    db.session.execute(postgresql_insert(table).values(keys).on_conflict_do_nothing())
    db.session.execute(select(table.c.n).where(table.c.site_id.in_(sites))
                       .order_by(table.c.site_id, table.c.status, table.c.shard).with_for_update())


def stored_total(status: CommentStatus) -> Select:
    """How many comments are in ``status``, all sites together (the sum of the shards); narrow it to sites
    with ``.where(QueueTotal.site_id ...)``."""
    return select(func.coalesce(func.sum(QueueTotal.n), 0)).where(QueueTotal.status == status.name)


def _add(row: str, sign: str) -> str:
    """Add ``sign``1 to the counter of comment ``row`` (NEW or OLD); nothing if its thread is gone."""
    return (f"INSERT INTO queue_total (site_id, status, shard, n) "
            f"SELECT thread.site_id, {row}.status, {row}.thread_id % {SHARDS}, {sign}1 FROM thread "
            f"WHERE thread.id = {row}.thread_id "
            f"ON CONFLICT (site_id, status, shard) DO UPDATE SET n = queue_total.n + excluded.n;")


_CHANGED = "OLD.status IS DISTINCT FROM NEW.status OR OLD.thread_id IS DISTINCT FROM NEW.thread_id"

def _add_all(rows: str, sign: str) -> str:
    """Add the comments of transition table ``rows``, grouped, in key order (rows locked in one order)."""
    return (f"INSERT INTO queue_total (site_id, status, shard, n) "
            f"SELECT thread.site_id, c.status, c.thread_id % {SHARDS}, {sign}count(*) FROM {rows} AS c "
            f"JOIN thread ON thread.id = c.thread_id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 "
            f"ON CONFLICT (site_id, status, shard) DO UPDATE SET n = queue_total.n + excluded.n;")


# PostgreSQL: inserts and deletes count once per statement over its transition table (a bulk import
# of 10,000 rows cost 1.75x with a trigger per row: bench/totals_triggers.py); a status change, one
# row per statement in the app, keeps a row trigger that fires only when the status or thread changed
# (a statement trigger cannot be limited to those columns).
_POSTGRESQL = [
    f"""CREATE FUNCTION queue_total_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_add_all("new_rows", "")}
    RETURN NULL;
END $$""",
    f"""CREATE FUNCTION queue_total_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_add_all("old_rows", "-")}
    RETURN NULL;
END $$""",
    # The two counters are locked in key order (status, then shard), whichever way the comment moves:
    # an approve (pending -> published) and a hold (published -> pending) in the same shard would
    # otherwise each take one row and wait for the other's, a deadlock (tests/test_queue_totals.py).
    f"""CREATE FUNCTION queue_total_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.status, OLD.thread_id % {SHARDS}) <= (NEW.status, NEW.thread_id % {SHARDS}) THEN
        {_add("OLD", "-")}
        {_add("NEW", "+")}
    ELSE
        {_add("NEW", "+")}
        {_add("OLD", "-")}
    END IF;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER queue_total_insert AFTER INSERT ON comment REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION queue_total_inserted()",
    "CREATE TRIGGER queue_total_update AFTER UPDATE OF status, thread_id ON comment FOR EACH ROW "
    f"WHEN ({_CHANGED}) EXECUTE FUNCTION queue_total_changed()",
    "CREATE TRIGGER queue_total_delete AFTER DELETE ON comment REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION queue_total_deleted()",
]

_SQLITE = [
    f"CREATE TRIGGER queue_total_insert AFTER INSERT ON comment BEGIN {_add('NEW', '+')} END",
    f"CREATE TRIGGER queue_total_update AFTER UPDATE OF status, thread_id ON comment "
    f"WHEN OLD.status IS NOT NEW.status OR OLD.thread_id IS NOT NEW.thread_id "
    f"BEGIN {_add('OLD', '-')} {_add('NEW', '+')} END",
    f"CREATE TRIGGER queue_total_delete AFTER DELETE ON comment BEGIN {_add('OLD', '-')} END",
]

DROP = {
    "postgresql": ["DROP TRIGGER IF EXISTS queue_total_insert ON comment",
                   "DROP TRIGGER IF EXISTS queue_total_update ON comment",
                   "DROP TRIGGER IF EXISTS queue_total_delete ON comment",
                   "DROP FUNCTION IF EXISTS queue_total_inserted()", "DROP FUNCTION IF EXISTS queue_total_deleted()",
                   "DROP FUNCTION IF EXISTS queue_total_changed()"],
    "sqlite": ["DROP TRIGGER IF EXISTS queue_total_insert", "DROP TRIGGER IF EXISTS queue_total_update",
               "DROP TRIGGER IF EXISTS queue_total_delete"],
}

BACKFILL = (f"INSERT INTO queue_total (site_id, status, shard, n) "
            f"SELECT thread.site_id, comment.status, comment.thread_id % {SHARDS}, count(*) "
            f"FROM comment JOIN thread ON thread.id = comment.thread_id "
            f"GROUP BY thread.site_id, comment.status, comment.thread_id % {SHARDS}")


def trigger_statements(dialect: str) -> list[str]:
    """The statements that create the counting triggers (the migration and create_all use them)."""
    return _POSTGRESQL if dialect == "postgresql" else _SQLITE


# create_all (browser tests, scratch databases) gets the triggers too, after every table exists.
for _dialect in ("postgresql", "sqlite"):
    for _statement in trigger_statements(_dialect):
        # DDL %-formats its text: the modulo sign is written twice
        event.listen(db.metadata, "after_create", DDL(_statement.replace("%", "%%")).execute_if(dialect=_dialect))
