"""CPU per POSTed comment, in-process, against another checkout in the same run.

bench/writes.py measures req/s under gunicorn and wrk, which a shared, loaded machine blurs.
This one counts what a post costs the worker: each round, for this checkout and the baseline
(alternating, each in its own process), post N guest comments to one hot thread through the
Flask test client (the whole WSGI stack, rate limiter included; scoring off; SQLite file with
the production pragmas) and read the process's CPU time (less sensitive to other load than the
wall clock). It also prints the SQL statements one post runs. Medians over the rounds.

    .venv/bin/python bench/writes_cpu.py --baseline DIR [--posts 400] [--rounds 3]

DIR: another checkout, e.g. ``git archive main | tar -x -C DIR``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Run in a child process with the checkout to measure first on sys.path.
CHILD = r'''
import itertools, json, logging, os, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
logging.disable(logging.WARNING)
os.environ.pop("DISCUSS_REDIS_URL", None)
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp())
from flask_migrate import upgrade
from sqlalchemy import event
from discuss import create_app
from discuss.extensions import db
from discuss.models import Site
work = tempfile.mkdtemp()
app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{work}/cpu.db", "SCORER_ENABLED": False,
                  "SECRET_KEY": "bench", "MAIL_ENABLED": False})
with app.app_context():
    upgrade()
    db.session.add(Site(slug="bench", name="Bench", allowed_origins=["http://127.0.0.1"], settings={}))
    db.session.commit()
    engine = db.engine
client = app.test_client()
numbers = itertools.count()
def post():
    i = next(numbers)
    answer = client.post("/api/v1/comments", json={
        "site": "bench", "article": "hot", "article_title": "Hot", "author_name": f"Reader {i}",
        "body": f"Comment {i}: the budget and the tax do not add up, says reader {i}."},
        environ_base={"REMOTE_ADDR": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"})
    assert answer.status_code == 201, (answer.status_code, answer.data)
for _ in range(50):
    post()
statements = []
def record(conn, cursor, statement, *args):
    statements.append(" ".join(statement.split())[:70])
event.listen(engine, "before_cursor_execute", record)
post()
event.remove(engine, "before_cursor_execute", record)
n = int(sys.argv[2])
cpu, wall = time.process_time(), time.perf_counter()
for _ in range(n):
    post()
print(json.dumps({"cpu_ms": (time.process_time() - cpu) / n * 1000, "wall_ms": (time.perf_counter() - wall) / n * 1000,
                  "statements": statements}))
'''


def measure(root: str, posts: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, root, str(posts)], capture_output=True, text=True,
                         check=True, timeout=600, cwd=tempfile.gettempdir()).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="another checkout of discuss to compare with")
    parser.add_argument("--posts", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cases = {"baseline": os.path.abspath(args.baseline), "this": ROOT}
    results: dict[str, list[dict]] = {name: [] for name in cases}
    print(f"{'round':>5} {'checkout':9} {'CPU ms/post':>12} {'wall ms/post':>13}")
    for round_no in range(args.rounds):
        for name in (cases if round_no % 2 == 0 else reversed(list(cases))):
            result = measure(cases[name], args.posts)
            results[name].append(result)
            print(f"{round_no + 1:>5} {name:9} {result['cpu_ms']:>12.2f} {result['wall_ms']:>13.2f}", flush=True)
    for name in cases:
        print(f"\n{name} ({cases[name]}): {len(results[name][0]['statements'])} statements in one guest post:")
        for statement in results[name][0]["statements"]:
            print(f"  {statement}")
    med = {name: statistics.median(r["cpu_ms"] for r in runs) for name, runs in results.items()}
    print(f"\nmedian CPU per post: baseline {med['baseline']:.2f} ms, this {med['this']:.2f} ms: "
          f"{med['this'] / med['baseline']:.2f}x the baseline's CPU; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
