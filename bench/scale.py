"""PostgreSQL at scale: the interactive reads and the moderation reports at 10k, 100k and 1M comments.

    .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--max-size N] [--timeout 3600]
                                    [--runs 7] [--pg-url postgresql://postgres@127.0.0.1:5432]

For each size it (re)creates the database discuss_pgscale_bench_<size>, migrates it with the project's
migrations up to the one before the index migration (…pgscale…), seeds it with COPY
(bench/scale_seed.py: many small threads, a few huge ones, 5% pending, votes, reports, audit rows,
nudge warnings), then runs the remaining migrations (timing the index build on the loaded data)
and VACUUM ANALYZE. Then, through the app's own code (test client for the public API, the service
functions for the moderation side), it prints the median of --runs runs of each case, the floor (a
``SELECT 1`` round trip) in the same run, export throughput, and at the largest size the EXPLAIN
(ANALYZE) summary of every statement each case sends: total time, and which scans it uses.
The table at the end shows each case per size and its growth from the smallest to the largest size.
The databases are dropped at the end (--keep leaves them; --reuse then measures a kept one again
without seeding it: seeding a million comments takes 5-15 minutes on a busy 2-core machine).
DISCUSS_BENCH_DB_PREFIX changes the databases' name prefix (default discuss_pgscale_bench_).
A text search first tries the trigram index within a statement timeout (moderation/queues.py); the
EXPLAIN of that statement runs without the timeout, so its time there is what it would have cost.
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import os
import signal
import statistics
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import psycopg  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from bench.scale_seed import RARE_WORD, Seeder  # noqa: E402
from discuss import create_app  # noqa: E402
from discuss.comments.export import site_records  # noqa: E402
from discuss.comments.reading import PageCache  # noqa: E402
from discuss.extensions import db  # noqa: E402
from discuss.identity.staff import Actor  # noqa: E402
from discuss.models import Site, User, utcnow  # noqa: E402
from discuss.moderation.audit import AuditFilters, load_events  # noqa: E402
from discuss.moderation.calibration import site_calibration  # noqa: E402
from discuss.moderation.queues import QueueFilters, load_queue, queue_counts  # noqa: E402
from discuss.moderation.replay_data import run_replay  # noqa: E402
from discuss.moderation.stats import queue_health  # noqa: E402

DATABASE = os.environ.get("DISCUSS_BENCH_DB_PREFIX", "discuss_pgscale_bench_") + "{}"
MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")
BIG_TABLES = {"comment", "moderation_event", "vote", "report", "thread", "user"}


class OutOfTime(Exception):
    pass


def _alarm(*_):
    raise OutOfTime()


def index_revision_parent() -> str:
    """The revision just before the index migration: data is loaded there, then indexes are built."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(MIGRATIONS)
    ours = [r for r in script.walk_revisions() if "pgscale" in r.revision]
    return ours[0].down_revision if ours else "head"


def fresh_database(base: str, n: int) -> str:
    name = DATABASE.format(n)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def drop_database(base: str, n: int) -> None:
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE.format(n)}" WITH (FORCE)')


def make_app(url: str):
    return create_app({"SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://", 1),
                       "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False, "SCORER_ENABLED": False,
                       "WTF_CSRF_ENABLED": False, "TESTING": True})


def migrate(app, revision: str) -> float:
    from flask_migrate import upgrade

    logging.getLogger("alembic").setLevel(logging.WARNING)
    started = time.perf_counter()
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=revision)
    return time.perf_counter() - started


# -- capture and explain ------------------------------------------------------------------------

class Capture:
    """Records the SELECTs the app sends while on, to EXPLAIN them afterwards."""

    def __init__(self, engine):
        self.on, self.statements = False, []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if self.on and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            self.statements.append((statement, parameters))


def _walk(node, found):
    kind = node.get("Node Type", "")
    if "Scan" in kind:
        where = node.get("Index Name") or node.get("Relation Name") or ""
        found.append((kind, where, node.get("Relation Name"), int(node.get("Actual Rows", 0) * node.get(
            "Actual Loops", 1))))
    for child in node.get("Plans", []):
        _walk(child, found)


def explain(statement, parameters) -> tuple[float, list[tuple]]:
    raw = db.session.connection().connection.dbapi_connection
    with raw.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters or None)
        plan = cur.fetchone()[0][0]
    found: list[tuple] = []
    _walk(plan["Plan"], found)
    return plan["Execution Time"], found


def plan_summary(statements) -> list[str]:
    lines = []
    for statement, parameters in statements:
        ms, scans = explain(statement, parameters)
        parts = []
        for kind, where, relation, rows in scans:
            flag = "  <-- SEQ SCAN" if kind == "Seq Scan" and relation in BIG_TABLES and rows > 5000 else ""
            parts.append(f"{kind} {where} ({rows} rows){flag}")
        first = " ".join(statement.split())[:70]
        lines.append(f"      {ms:7.1f} ms  {first}…")
        lines.extend(f"                 {p}" for p in parts)
    return lines


# -- cases ----------------------------------------------------------------------------------------

def cases(app, client, site: Site, actor: Actor, huge_article: str, small_article: str, articles: list[str]):
    def read(article, cold):
        def run():
            if cold:
                app.extensions["discuss.page_cache"] = PageCache()
            response = client.get(f"/api/v1/comments?site=bench&article={article}")
            assert response.status_code == 200, response.status_code
        return run

    def counts():
        response = client.post("/api/v1/counts", json={"site": "bench", "articles": articles})
        assert response.status_code == 200, response.status_code

    now = utcnow()
    return [
        ("thread read, cold, huge thread", read(huge_article, True)),
        ("thread read, cold, small thread", read(small_article, True)),
        ("thread read, cached, huge thread", read(huge_article, False)),
        ("counts for 20 articles", counts),
        ("queue tab counts", lambda: queue_counts(actor)),
        ("pending p1 by toxicity", lambda: load_queue(actor, QueueFilters(queue="pending", sort="toxicity"))),
        ("pending p1 oldest, one site", lambda: load_queue(actor, QueueFilters(queue="pending", site_id=site.id))),
        (f"pending search '{RARE_WORD}'", lambda: load_queue(actor, QueueFilters(queue="pending", text=RARE_WORD))),
        ("all-queue search 'council mayor'",
         lambda: load_queue(actor, QueueFilters(queue="all", text="council mayor"))),
        ("all-queue search 'budget' (very common)",
         lambda: load_queue(actor, QueueFilters(queue="all", text="budget"))),
        ("all-queue search, no match",
         lambda: load_queue(actor, QueueFilters(queue="all", text="xylophone"))),
        ("reported queue p1", lambda: load_queue(actor, QueueFilters(queue="reported"))),
        ("audit log p1", lambda: load_events(actor, AuditFilters())),
        ("audit log p1, one site", lambda: load_events(actor, AuditFilters(site_id=site.id))),
        ("stats, 30 days", lambda: queue_health(site, 30, now)),
        ("stats, 30 days, no day stored yet", lambda: queue_health(site, 30, now), forget_stats_days),
        ("calibration, 90 days", lambda: site_calibration(site, now - timedelta(days=90), now)),
        ("replay, 30 days", lambda: run_replay(site, {"hold_thresholds": {"toxicity": 0.6}}, now)),
    ]


def search_ceiling(phrase: str, runs: int, page: int = 26, sample: int = 20_000) -> str:
    """The floor under a substring search without a usable index: the newest comments it must test to
    fill a page (``page`` matches), times what testing one comment costs (the queue's predicate over
    ``sample`` ids, minus reading them), medians of ``runs``."""
    predicate = "(lower(body_text) LIKE :p OR lower(author_name) LIKE :p)"
    params = {"p": f"%{phrase}%"}
    newest = db.session.execute(text("SELECT max(id) FROM comment")).scalar()
    last = db.session.execute(text(f"SELECT id FROM comment WHERE {predicate} ORDER BY id DESC "
                                   f"LIMIT 1 OFFSET {page - 1}"), params).scalar()
    needed = newest - last + 1

    def scan(where: str) -> float:
        def run():  # read the ids in order, as the search's windows do (not through the trigram index)
            db.session.execute(text("SET LOCAL enable_bitmapscan = off"))
            db.session.execute(text(f"SELECT count(*) FROM comment WHERE id > :low AND {where}"),
                               {**params, "low": newest - sample})
        return timed(run, runs)

    per_comment = max(0.0, scan(predicate) - scan("true")) / sample
    return (f"   search ceiling for '{phrase}': a page of {page} needs the newest {needed:,} comments, "
            f"{per_comment * 1000:.2f} us each to test: {needed * per_comment:.1f} ms")


def forget_stats_days() -> None:
    """Before a run of the stats page's first view: drop the stored days (it computes and stores them)."""
    db.session.execute(text("DELETE FROM stats_day"))


def timed(fn, runs: int, prepare=lambda: None) -> float:
    """Median ms of ``runs`` calls after a warm-up. Each run starts with a fresh transaction;
    ``prepare`` reloads the objects the case uses (site, admin) outside the timed part."""
    fn()  # warm-up: first connection, compiled statements
    samples = []
    for _ in range(runs):
        db.session.rollback()
        prepare()
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    db.session.rollback()
    return statistics.median(samples)


def export_rate(site: Site, seconds: float) -> tuple[int, float, float]:
    """Records, records/s and seconds to the first record (the header). Right after the header the
    export reads every user id the site refers to (one query over the whole site: seconds at 1M), then
    streams; a window of ``seconds`` after the header includes that query, so keep it long at 1M."""
    out, n, first = io.StringIO(), 0, None
    started = time.perf_counter()
    for item in site_records(site):
        if first is None:
            first = time.perf_counter() - started
        out.write(json.dumps(item, default=str))
        n += 1
        if n % 1000 == 0:
            out.seek(0)
            out.truncate()
            if time.perf_counter() - started - first > seconds:
                break
    elapsed = time.perf_counter() - started - (first or 0)
    db.session.rollback()
    return n, n / elapsed, first or 0.0


def seeded_size(base: str, n: int) -> int | None:
    """Comments in an existing bench database (for --reuse), or None."""
    try:
        with psycopg.connect(f"{base}/{DATABASE.format(n)}") as conn:
            return conn.execute("SELECT count(*) FROM comment").fetchone()[0]
    except psycopg.Error:
        return None


def run_size(base: str, n: int, runs: int, explain_plans: bool, export_seconds: float,
             reuse: bool = False, export_only: bool = False) -> dict[str, float]:
    if reuse and seeded_size(base, n) == n:
        url = f"{base}/{DATABASE.format(n)}"
        app = make_app(url)
        migrate(app, "head")
        print(f"\n== {n:,} comments: reusing the seeded database")
    else:
        url = fresh_database(base, n)
        app = make_app(url)
        migrate(app, index_revision_parent())
        with psycopg.connect(url) as conn:
            counts = Seeder(conn, n).run()
        print(f"\n== {n:,} comments: seeded in {counts.pop('seconds')} s with COPY: "
              + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        index_seconds = migrate(app, "head")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        print(f"   index migration on the loaded data: {index_seconds:.1f} s")
    results: dict[str, float] = {}
    with app.app_context():
        site = db.session.scalar(db.select(Site).where(Site.slug == "bench"))
        admin = db.session.get(User, 1)
        actor = Actor.for_user(admin)
        huge = db.session.execute(text("SELECT article_id FROM thread ORDER BY revision DESC LIMIT 1")).scalar()
        small = db.session.execute(text(
            "SELECT article_id FROM thread WHERE site_id = 1 AND published_count BETWEEN 10 AND 30 "
            "ORDER BY id LIMIT 1")).scalar()
        articles = list(db.session.execute(text(
            "SELECT article_id FROM thread WHERE site_id = 1 ORDER BY id DESC LIMIT 20")).scalars())
        client = app.test_client()
        capture = Capture(db.engine)
        floor = timed(lambda: db.session.execute(text("SELECT 1")), runs * 5)
        results["floor: SELECT 1 round trip"] = floor
        print(f"   {'floor: SELECT 1 round trip':36s} {floor:8.2f} ms")
        for name, fn, *before in [] if export_only else cases(app, client, site, actor, huge, small, articles):
            results[name] = timed(fn, runs, prepare=lambda: (site.settings, admin.role, *(f() for f in before)))
            print(f"   {name:36s} {results[name]:8.2f} ms")
            if explain_plans:
                capture.statements, capture.on = [], True
                app.extensions["discuss.page_cache"] = PageCache()
                try:
                    fn()
                finally:
                    capture.on = False
                for line in plan_summary(capture.statements):
                    print(line)
                db.session.rollback()
        if explain_plans and not export_only:
            print(search_ceiling("council mayor", runs))
        records, rate, first = export_rate(site, export_seconds)
        results["export, records/s"] = rate
        results["export, first record (ms)"] = first * 1000
        print(f"   export: first record after {first:.1f} s, then {records:,} records at {rate:,.0f} records/s")
        db.session.remove()
        db.engine.dispose()
    return results


def print_table(sizes: list[int], table: dict[int, dict[str, float]]) -> None:
    done = [s for s in sizes if s in table]
    if not done:
        return
    names = list(table[done[0]])
    head = " | ".join(f"{s:,}" for s in done)
    print(f"\n| case (median ms) | {head} | growth {done[0]:,} -> {done[-1]:,} |")
    print("|---" * (len(done) + 2) + "|")
    for name in names:
        values = [table[s].get(name) for s in done]
        cells = " | ".join("-" if v is None else (f"{v:,.0f}" if "records" in name else f"{v:.1f}")
                           for v in values)
        growth = (f"{values[-1] / values[0]:.1f}x" if values[0] and values[-1] is not None and len(done) > 1
                  else "-")
        print(f"| {name} | {cells} | {growth} |")
    if len(done) > 1:
        print(f"(data grew {done[-1] / done[0]:.0f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--max-size", type=int, default=None, help="skip sizes above this")
    parser.add_argument("--timeout", type=int, default=3600, help="stop (and drop the database) after this many s")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--export-seconds", type=float, default=10.0)
    parser.add_argument("--explain", choices=("largest", "all", "none"), default="largest")
    parser.add_argument("--pg-url", default=os.environ.get("DISCUSS_BENCH_PG_URL",
                                                           "postgresql://postgres@127.0.0.1:5432"))
    parser.add_argument("--export-only", action="store_true", help="measure only the export")
    parser.add_argument("--keep", action="store_true", help="leave the last database in place")
    parser.add_argument("--reuse", action="store_true",
                        help="with --keep before: measure the kept database again if it has the size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if not args.max_size or int(s) <= args.max_size]
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(args.timeout)
    table: dict[int, dict[str, float]] = {}
    try:
        for n in sizes:
            plans = args.explain == "all" or (args.explain == "largest" and n == sizes[-1])
            table[n] = run_size(args.pg_url.rstrip("/"), n, args.runs, plans, args.export_seconds, args.reuse,
                                args.export_only)
    except OutOfTime:
        print(f"\n!! stopped at the {args.timeout} s time limit; figures so far:")
    finally:
        signal.alarm(0)
        print_table(sizes, table)
        if not args.keep:
            for n in sizes:
                drop_database(args.pg_url.rstrip("/"), n)


if __name__ == "__main__":
    main()
