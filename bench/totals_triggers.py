"""What the queue_total triggers (discuss/models/totals.py) cost a write, on PostgreSQL.

    .venv/bin/python bench/totals_triggers.py [--rows 2000] [--rounds 5] [--pg-url postgresql://postgres@127.0.0.1:5432]

Builds a scratch database (totals_trigger_bench) with the project's migrations, then, in interleaved
rounds with the triggers on and off (dropped and re-created with the migration's own statements):
- posting-like writes: one INSERT of a comment and a COMMIT, ``--rows`` times;
- a status change each: one UPDATE of a comment's status and a COMMIT, ``--rows`` times;
- a bulk import-like INSERT of ``--rows`` * 10 comments in one statement.
Prints the median ms per round of each, and the ratio on/off (the triggers' overhead).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import psycopg  # noqa: E402

from discuss.models.totals import DROP, trigger_statements  # noqa: E402

NAME = "totals_trigger_bench"
COLUMNS = ("thread_id, author_id, author_name, body_markdown, body_html, body_text, status, reasons, ip_hash, "
           "likes, likes_base, report_count, is_featured, warned, rephrased_after_warning, moderator_decided, "
           "created_at, status_changed_at, depth")
VALUES = ("%s, 1, 'bench', 'text', '<p>text</p>', 'text', %s, '[]', NULL, 0, 0, 0, false, false, false, false, "
          "now(), now(), 0")


def setup(base: str) -> str:
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{NAME}"')
    url = f"{base}/{NAME}"
    from flask_migrate import upgrade

    from discuss import create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://", 1),
                      "SECRET_KEY": "bench", "SCORER_ENABLED": False, "TESTING": True})
    with app.app_context():
        upgrade(directory=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations"))
        from discuss.extensions import db
        db.engine.dispose()
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO site (id, slug, name, allowed_origins, settings, created_at) "
                     "VALUES (1, 'bench', 'Bench', '[]', '{}', now())")
        conn.execute("INSERT INTO \"user\" (id, kind, role, display_name, moderated_site_ids, notify_replies, "
                     "notify_digest, is_active_account, session_version, email_verified, created_at) "
                     "VALUES (1, 'GUEST', 'READER', 'bench', '[]', false, false, true, 0, false, now())")
        for tid in range(1, 65):
            conn.execute("INSERT INTO thread (id, site_id, article_id, url, title, is_closed, is_premoderated, "
                         "published_count, revision, created_at) VALUES (%s, 1, %s, 'u', 't', false, false, 0, 0, now())",
                         (tid, f"a{tid}"))
    return url


def set_triggers(conn, on: bool) -> None:
    for statement in DROP["postgresql"]:
        conn.execute(statement)
    if on:
        for statement in trigger_statements("postgresql"):
            conn.execute(statement)
    conn.commit()


def posts(conn, rows: int) -> list[int]:
    ids = []
    for i in range(rows):
        ids.append(conn.execute(f"INSERT INTO comment ({COLUMNS}) VALUES ({VALUES}) RETURNING id",
                                (1 + i % 64, "PUBLISHED")).fetchone()[0])
        conn.commit()
    return ids


def status_changes(conn, ids: list[int]) -> None:
    for i, cid in enumerate(ids):
        conn.execute("UPDATE comment SET status = %s WHERE id = %s", ("PENDING" if i % 2 else "REJECTED", cid))
        conn.commit()


def bulk(conn, rows: int) -> None:
    values = VALUES.replace("%s", "g %% 64 + 1", 1).replace("%s", "'PENDING'", 1)
    conn.execute(f"INSERT INTO comment ({COLUMNS}) SELECT {values} FROM generate_series(1, %s) AS g", (rows,))
    conn.commit()


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg-url", default=os.environ.get("DISCUSS_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432"))
    args = parser.parse_args()
    base = args.pg_url.rstrip("/")
    url = setup(base)
    results: dict[tuple[str, bool], list[float]] = {}
    try:
        with psycopg.connect(url) as conn:
            for _ in range(args.rounds):
                for on in (True, False):
                    set_triggers(conn, on)
                    ids: list[int] = []
                    results.setdefault(("posts", on), []).append(timed(lambda: ids.extend(posts(conn, args.rows))))
                    results.setdefault(("status changes", on), []).append(timed(lambda: status_changes(conn, ids)))
                    results.setdefault(("bulk insert", on), []).append(timed(lambda: bulk(conn, args.rows * 10)))
            set_triggers(conn, True)
            totals = conn.execute("SELECT status, sum(n) FROM queue_total GROUP BY status ORDER BY status").fetchall()
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
    print(f"{args.rounds} interleaved rounds, median ms per round (rows: {args.rows} single-row transactions; "
          f"bulk: {args.rows * 10} rows in one statement)")
    print("| case | triggers on | triggers off | on / off |")
    print("|---|---|---|---|")
    for case in ("posts", "status changes", "bulk insert"):
        on, off = statistics.median(results[(case, True)]), statistics.median(results[(case, False)])
        print(f"| {case} | {on:,.0f} | {off:,.0f} | {on / off:.2f}x |")
    print(f"(rows counted while the triggers were on: {dict(totals)})")


if __name__ == "__main__":
    main()
