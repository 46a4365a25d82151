"""Replay of proposed thresholds over 100,000 stored comments on PostgreSQL (target: < 1 s).

    .venv/bin/python bench/replay.py [--comments 100000] [--runs 5] [--database-url postgresql://...]

Creates a throwaway database on the given server (default: the local one the tests use), migrates
it, bulk-inserts comments with scores (5% of them decided by a moderator, each with the pipeline's
audit row), and then times, end to end, what ``POST /api/v1/moderation/sites/SLUG/replay`` runs
(``run_replay``: the decided comments one by one, the others grouped in SQL by the thresholds
their scores reach, both threshold sets through the rules, the sample's text). Beside it, in the
same run: the grouping query alone, and the peer it replaced, every comment fetched and decoded
and the rules run per comment. The whole run stops after ``--time-limit`` seconds. The machine
is shared: figures are noisy; compare within one run.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import sys
import time
import uuid
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from discuss import create_app  # noqa: E402
from discuss.extensions import db  # noqa: E402
from discuss.models import (AuthorKind, Comment, CommentStatus, ModerationEvent, Site, Thread,  # noqa: E402
                            User, utcnow)
from discuss.moderation.replay import replay, threshold_points  # noqa: E402
from discuss.moderation.stats import queue_health  # noqa: E402
from discuss.moderation.replay_data import (groups_query, load_groups, load_rows, proposed_settings,  # noqa: E402
                                            run_replay)
from discuss.scoring.base import CORE_LABELS  # noqa: E402

DEFAULT_SERVER = os.environ.get("DISCUSS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PROPOSED = {"hold_thresholds": {"toxicity": 0.6, "insult": 0.55}, "reject_thresholds": {"severe_toxicity": 0.9},
            "sample": 20}


def seed(count: int) -> Site:
    rng = random.Random(11)
    site = Site(slug="bench", name="Bench Gazette", allowed_origins=["https://bench.example"], settings={})
    db.session.add(site)
    db.session.flush()
    threads = [Thread(site_id=site.id, article_id=f"a{i}", title=f"Article {i}") for i in range(200)]
    authors = [User(kind=AuthorKind.GUEST, display_name=f"reader{i}") for i in range(2000)]
    db.session.add_all(threads + authors)
    db.session.commit()
    now = utcnow()
    thread_ids, author_ids = [t.id for t in threads], [a.id for a in authors]
    batch, events = [], []
    next_id = 1
    for i in range(count):
        toxic = rng.random() < 0.15
        base = rng.uniform(0.4, 1.0) if toxic else rng.betavariate(1.2, 9)
        scores = {label: round(min(1.0, base * rng.uniform(0.3, 1.05)), 4) for label in CORE_LABELS}
        decided = rng.random() < 0.05
        status = CommentStatus.PUBLISHED if base < 0.8 else CommentStatus.PENDING
        if decided:
            status = CommentStatus.REJECTED if rng.random() < (0.8 if toxic else 0.1) else CommentStatus.PUBLISHED
        created = now - timedelta(minutes=rng.uniform(1, 29 * 24 * 60))
        batch.append({"id": next_id, "thread_id": rng.choice(thread_ids), "author_id": rng.choice(author_ids),
                      "author_name": "reader", "body_markdown": f"Comment {i}", "body_html": f"<p>Comment {i}</p>",
                      "body_text": f"Comment {i}", "status": status, "reasons": [], "scores": scores,
                      "moderator_decided": decided, "created_at": created, "status_changed_at": created,
                      "depth": 0, "likes": 0, "report_count": 0, "is_featured": False, "warned": False,
                      "rephrased_after_warning": False})
        auto = CommentStatus.PUBLISHED if base < 0.8 else CommentStatus.PENDING
        events.append({"site_id": site.id, "comment_id": next_id, "actor_label": "pipeline", "action": "create",
                       "to_status": auto.value, "reasons": ["toxicity:toxicity"] if base >= 0.8 else [],
                       "created_at": created})
        if decided:
            events.append({"site_id": site.id, "comment_id": next_id, "actor_label": "staff:1", "action":
                           "reject" if status is CommentStatus.REJECTED else "approve", "from_status": auto.value,
                           "to_status": status.value, "reasons": [],
                           "created_at": created + timedelta(minutes=rng.uniform(5, 300))})
        next_id += 1
        if len(batch) == 5000:
            db.session.execute(insert(Comment), batch)
            db.session.execute(insert(ModerationEvent), events)
            batch, events = [], []
    if batch:
        db.session.execute(insert(Comment), batch)
    if events:
        db.session.execute(insert(ModerationEvent), events)
    db.session.execute(text("SELECT setval(pg_get_serial_sequence('comment', 'id'), :n)"), {"n": next_id})
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return site


def timed(fn, runs: int) -> list[float]:
    fn()  # warm-up: first connections, query compilation
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=DEFAULT_SERVER, help="a PostgreSQL server; a database is created")
    parser.add_argument("--time-limit", type=int, default=600)
    parser.add_argument("--explain", action="store_true", help="print PostgreSQL's plan of the grouping query")
    args = parser.parse_args()
    signal.alarm(args.time_limit)
    name = f"discuss_bench_replay_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.database_url.rsplit("/", 1)[0] + "/" + name
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                          "SCORER_ENABLED": False})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            started = time.perf_counter()
            site = seed(args.comments)
            print(f"seeded {args.comments:,} comments on PostgreSQL in {time.perf_counter() - started:.1f} s "
                  f"({args.comments // 20:,} decided by a moderator)")
            since, until = utcnow() - timedelta(days=30), utcnow() + timedelta(minutes=1)
            body = {**PROPOSED, "from": since.date().isoformat(), "to": until.date().isoformat()}
            answer = run_replay(site, body)
            print(f"replay answer: {answer['comments']:,} comments, {answer['changed']:,} change outcome, "
                  f"reviews {answer['reviews']}")
            points = threshold_points(site.effective_settings(), proposed_settings(site, body))
            current, proposed = site.effective_settings(), proposed_settings(site, body)

            def per_comment():  # every scored comment to Python, the rules run per comment
                rows = load_rows(site.id, since, until)
                return replay(rows, current, proposed)

            if args.explain:
                query = groups_query(site.id, since, until, points)
                compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
                for line in db.session.execute(text(f"EXPLAIN ANALYZE {compiled}")):
                    print("   ", line[0])
            groups = load_groups(site.id, since, until, points)
            print(f"{len(groups):,} groups the rules cannot tell apart")
            results = {
                "the rules over the groups (replay)": timed(lambda: replay(groups, current, proposed), args.runs),
                "replay, end to end (run_replay)": timed(lambda: run_replay(site, body), args.runs),
                "the grouping query alone": timed(lambda: load_groups(site.id, since, until, points), args.runs),
                "the decided comments alone": timed(lambda: load_rows(site.id, since, until, decided_only=True),
                                                    args.runs),
                "peer: per-comment replay": timed(per_comment, max(1, args.runs // 3)),
                "stats page data, 30 days (queue_health)": timed(lambda: queue_health(site, 30), max(1, args.runs // 2)),
            }
            print(f"median of {args.runs} runs (machine shared: figures are noisy)")
            for label, values in results.items():
                print(f"  {label:36s} median {statistics.median(values):7.1f} ms   min {min(values):7.1f} ms")
            peer = statistics.median(results["peer: per-comment replay"])
            replay_ms = statistics.median(results["replay, end to end (run_replay)"])
            print(f"per-comment / grouped = {peer / replay_ms:.1f}x; replay target < 1000 ms: "
                  f"{'met' if replay_ms < 1000 else 'NOT met'}")
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
