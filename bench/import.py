"""Import speed and memory: a generated Disqus export of 10k, 50k and 100k comments into SQLite.

    .venv/bin/python bench/import.py [--sizes 10000,50000,100000] [--time-limit 280]

Each size runs in its own process (so its peak RSS is its own) on a fresh, migrated SQLite
database, without scoring, and prints comments/s and peak RSS. Peak RSS should stay flat as the
file grows (the readers stream, the writer holds no ORM objects).

In the same run, for the largest size, it measures each stage alone: reading the XML (parse and
build records), cleaning every body (discuss.sanitize), and writing (the importer's writer fed
records already read and cleaned, committed). The import reads and cleans in a second process
while it writes (discuss/comments/importers/pipeline.py), so its ceiling is the slower of
read+clean and write; the import rate is printed as a share of that and of the one-process
ceiling. The machine may be shared: figures vary between runs; compare rows within one run.

Target: at least 5,000 comments/s on SQLite without scoring.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

WORDS = ("council budget vote school road tax river park housing plan mayor rail bridge library "
         "clinic market harbour festival police water energy bus cycle tram climate jobs rent").split()


def generate(path: str, comments: int, per_thread: int = 100, seed: int = 7) -> None:
    """A Disqus export shaped like a newsroom's: threads of ~100 comments, a third of them
    replies (some listed before their parent), HTML paragraphs and links, a few spam/deleted."""
    rng = random.Random(seed)
    threads = max(1, comments // per_thread)
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="http://disqus.com" '
                  'xmlns:dsq="http://disqus.com/disqus-internals">\n')
        for t in range(threads):
            out.write(f'<thread dsq:id="t{t}"><id>article-{t}</id><forum>bench</forum>'
                      f'<link>https://bench.example/{t}</link><title>Article {t}</title>'
                      f'<createdAt>2020-01-01T00:00:00Z</createdAt><isClosed>false</isClosed>'
                      f'<isDeleted>false</isDeleted></thread>\n')
        for n in range(comments):
            thread = n // per_thread
            first = thread * per_thread
            parent = ""
            if n > first and rng.random() < 0.35:
                parent = f'<parent dsq:id="p{rng.randrange(first, min(n + 3, first + per_thread))}"/>'
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 60)))
            body = f"<p>{n}: {words}</p>"
            if rng.random() < 0.3:
                body += f'<p>See <a href="https://bench.example/{rng.randrange(999)}">this <b>link</b></a>.</p>'
            spam = "true" if rng.random() < 0.01 else "false"
            deleted = "true" if rng.random() < 0.01 else "false"
            user = rng.randrange(comments // 5 + 1)
            out.write(f'<post dsq:id="p{n}"><id/><message><![CDATA[{body}]]></message>'
                      f'<createdAt>2020-02-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z</createdAt>'
                      f'<isDeleted>{deleted}</isDeleted><isSpam>{spam}</isSpam>'
                      f'<author><email>reader{user}@example.org</email><name>Reader {user}</name>'
                      f'<isAnonymous>false</isAnonymous><username>reader{user}</username></author>'
                      f'<ipAddress>127.0.0.1</ipAddress><thread dsq:id="t{thread}"/>{parent}</post>\n')
        out.write("</disqus>\n")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the import's reader process)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _bench_app(db_path: str):
    from flask_migrate import upgrade

    from discuss import create_app
    from discuss.extensions import db
    from discuss.models import Site

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", "SCORER_ENABLED": False,
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade(directory=os.path.join(ROOT, "migrations"))
        db.session.add(Site(slug="bench", name="Bench", allowed_origins=["https://bench.example"], settings={}))
        db.session.commit()
    return app


def child_import(xml_path: str, db_path: str) -> dict:
    from discuss.comments.importers import run_import
    from discuss.models import Site

    app = _bench_app(db_path)
    with app.app_context():
        site = Site.query.filter_by(slug="bench").one()
        rss_before = peak_rss_mb()
        started, cpu = time.perf_counter(), cpu_seconds()
        summary = run_import("disqus", xml_path, site)
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return {"comments": summary.comments, "seconds": seconds, "rate": summary.comments / seconds,
            "cpu_rate": summary.comments / cpu, "peak_rss_mb": peak_rss_mb(), "rss_before_mb": rss_before,
            "reader_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def child_ceiling(xml_path: str, db_path: str) -> dict:
    """The three stages alone, one after the other in this process: read (parse the XML into records), clean
    (sanitize every body, as the reader process does), write (the importer's writer fed records already read
    and cleaned, held in memory, then committed)."""
    from discuss.comments.importers import disqus
    from discuss.comments.importers.base import SourceComment, clean_body
    from discuss.comments.importers.writer import ImportWriter
    from discuss.extensions import db
    from discuss.models import Site

    started, cpu = time.perf_counter(), time.process_time()
    with open(xml_path, "rb") as stream:
        records = list(disqus.read(stream))
    comments = [r for r in records if isinstance(r, SourceComment)]
    read, read_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    for record in comments:
        record.cleaned = clean_body(record)
    clean, clean_cpu = time.perf_counter() - started, time.process_time() - cpu
    app = _bench_app(db_path)
    with app.app_context():
        writer = ImportWriter(Site.query.filter_by(slug="bench").one(), "disqus")
        started, cpu = time.perf_counter(), time.process_time()
        writer.feed(records)
        writer.finish("bench")
        db.session.commit()
        write, write_cpu = time.perf_counter() - started, time.process_time() - cpu
    n = len(comments)
    floor, floor_cpu = database_floor(db_path, db_path + ".floor.db")
    return {"comments": n, "read_rate": n / read, "clean_rate": n / clean, "write_rate": n / write,
            "read_cpu_rate": n / read_cpu, "clean_cpu_rate": n / clean_cpu, "write_cpu_rate": n / write_cpu,
            "floor_rate": n / floor, "floor_cpu_rate": n / floor_cpu}


def database_floor(written_path: str, empty_path: str) -> tuple[float, float]:
    """SQLite's own cost for the rows the import wrote: every user, thread, comment and import_ref row, already
    converted to the tuples the driver takes, inserted with one executemany per 1,000 rows into a freshly
    migrated database holding only the site (same schema, same indexes, same journal settings as the app's engine), then committed.
    It shows how much of the write stage is the database's own work (measured: about all of it)."""
    import sqlite3

    from discuss.extensions import db

    source = sqlite3.connect(written_path)
    tables = {name: (source.execute(f'SELECT * FROM "{name}" LIMIT 0').description,
                     source.execute(f'SELECT * FROM "{name}" ORDER BY id').fetchall())
              for name in ("user", "thread", "comment", "import_ref")}
    source.close()
    app = _bench_app(empty_path)
    with app.app_context():
        connection = db.engine.raw_connection()  # the app's own pragmas (WAL, synchronous, ...)
        started, cpu = time.perf_counter(), time.process_time()
        cursor = connection.cursor()
        cursor.execute("PRAGMA defer_foreign_keys = ON")  # a reply may precede its parent; checked at commit
        for name, (description, rows) in tables.items():
            columns = ", ".join(f'"{d[0]}"' for d in description)
            statement = f'INSERT INTO "{name}" ({columns}) VALUES ({", ".join("?" for _ in description)})'
            for start in range(0, len(rows), 1000):
                cursor.executemany(statement, rows[start:start + 1000])
        connection.commit()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        connection.close()
    return elapsed, cpu


def run_child(mode: str, xml_path: str, db_path: str, timeout: float) -> dict:
    output = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", mode, xml_path, db_path],
                            capture_output=True, text=True, timeout=timeout, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--time-limit", type=float, default=280, help="seconds for the whole run")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, xml_path, db_path = args.child
        print(json.dumps(child_import(xml_path, db_path) if mode == "import" else child_ceiling(xml_path, db_path)))
        return

    deadline = time.monotonic() + args.time_limit
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="discuss-bench-import-") as tmp:
        print(f"Disqus import into SQLite, no scoring; {os.cpu_count()} CPUs; figures are noisy on a shared machine")
        print("comments/s is wall clock; per CPU-s divides by the CPU time of the importer and its reader process, "
              "which a busy\nmachine (other processes taking the cores) distorts far less; peak RSS of each process. Load average now: "
              f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"{'comments':>9} {'file MB':>8} {'seconds':>8} {'comments/s':>11} {'per CPU-s':>10} "
              f"{'peak RSS MB':>12} {'reader RSS MB':>14}")
        for size in sizes:
            xml_path = os.path.join(tmp, f"disqus-{size}.xml")
            generate(xml_path, size)
            left = deadline - time.monotonic()
            # keep time for the stage ceilings after the last size (about as long as that size's import)
            expected = size / results[-1][1]["rate"] if results else 0.0
            if left < 10 or 2.2 * expected > left:
                print(f"{size:>9} skipped: it would not finish (with the ceilings) within --time-limit")
                continue
            result = run_child("import", xml_path, os.path.join(tmp, f"{size}.db"), left)
            results.append((size, result))
            print(f"{size:>9} {os.path.getsize(xml_path) / 1e6:>8.1f} {result['seconds']:>8.1f} "
                  f"{result['rate']:>11,.0f} {result['cpu_rate']:>10,.0f} {result['peak_rss_mb']:>12.0f} "
                  f"{result['reader_rss_mb']:>14.0f}")
        if not results:
            return
        size, last = results[-1]
        left = deadline - time.monotonic()
        if left > 10:
            c = run_child("ceiling", os.path.join(tmp, f"disqus-{size}.xml"), os.path.join(tmp, "ceiling.db"), left)
            # one process does read + clean + write in turn; with the reader process (pipeline.py) reading and
            # cleaning overlap the writes, so on two free cores the import can approach the slower half
            serial = 1 / (1 / c["read_rate"] + 1 / c["clean_rate"] + 1 / c["write_rate"])
            overlapped = min(1 / (1 / c["read_rate"] + 1 / c["clean_rate"]), c["write_rate"])
            print(f"\nstages alone at {size:,} comments, same run (comments/s wall clock / per CPU-second):")
            print(f"  read (parse XML):         {c['read_rate']:>9,.0f} / {c['read_cpu_rate']:>9,.0f}")
            print(f"  clean (sanitize bodies):  {c['clean_rate']:>9,.0f} / {c['clean_cpu_rate']:>9,.0f}")
            print(f"  write (SQLite, committed):{c['write_rate']:>9,.0f} / {c['write_cpu_rate']:>9,.0f}")
            print(f"  SQLite alone, same rows:  {c['floor_rate']:>9,.0f} / {c['floor_cpu_rate']:>9,.0f}  (raw sqlite3 "
                  f"executemany of the stored rows, same schema, indexes and triggers: the database's own cost; "
                  f"the writer runs at {c['write_cpu_rate'] / c['floor_cpu_rate']:.0%} of its rate per CPU-s)")
            print(f"  ceiling, one process:     {serial:>9,.0f}  (1 / sum of the stages' times)")
            print(f"  ceiling, overlapped:      {overlapped:>9,.0f}  (the slower of read+clean and write)")
            serial_cpu = 1 / (1 / c["read_cpu_rate"] + 1 / c["clean_cpu_rate"] + 1 / c["write_cpu_rate"])
            print(f"  full import:              {last['rate']:>9,.0f} / {last['cpu_rate']:>9,.0f} per CPU-s of both "
                  f"processes: {last['rate'] / overlapped:.0%} of the overlapped ceiling, "
                  f"{last['rate'] / serial:.0%} of the one-process one (wall clock)")
            print(f"  per CPU-second (fair on a busy machine): the stages' sum allows {serial_cpu:,.0f}; the import "
                  f"does {last['cpu_rate'] / serial_cpu:.0%} of that (the rest is handing records between the "
                  f"processes); writing alone allows {c['write_cpu_rate']:,.0f}/s on one core, the bound on two "
                  "free cores")
        rss = [r["peak_rss_mb"] for _, r in results]
        print(f"\npeak RSS from {results[0][0]:,} to {results[-1][0]:,} comments: {rss[0]:.0f} -> {rss[-1]:.0f} MB "
              f"({rss[-1] / rss[0]:.2f}x); target >= 5,000 comments/s (wall clock): "
              f"{'met' if last['rate'] >= 5000 else 'missed'} ({last['rate']:,.0f}; {last['cpu_rate']:,.0f} per CPU-s)")


if __name__ == "__main__":
    main()
