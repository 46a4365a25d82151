"""Write-path benchmark: POST a comment with scoring off, discuss against Isso 0.14, same run.

Both services run under gunicorn with the same worker count (2 sync workers), each on its own
SQLite file, and wrk (Debian's package) posts to one hot article at 16 connections, the way a
burst of readers piles onto a front-page story. Every request is different, so no guard is
switched off to make the numbers: each body carries a counter (discuss's duplicate-comment guard
and Isso's never match), each author name is new, and each request comes from its own client
address in X-Forwarded-For (a /24 of its own, since Isso anonymizes addresses to /24), with both
services told to trust one proxy hop. So discuss's rate limiter (per IP and per author) and Isso's
guard (per-IP rate limit, direct replies per thread) both run on every request, as in production,
without refusing a real spike.

Isso is installed with pip into a throwaway virtualenv in the work directory (PyPI), so its pins
never touch ours. The runs are interleaved (discuss, Isso, Isso, discuss, ...), each server is
left to go idle between cases (gunicorn's sync workers keep serving requests wrk abandoned), and
the figures are medians over the rounds. Every case checks that it was not refused (non-2xx) and
that the rows are in the database.

    .venv/bin/python bench/writes.py [--seconds 10] [--rounds 3] [--connections 16]
                                     [--time-limit 600] [--profile out.svg] [--baseline DIR] [--ceiling]

--baseline DIR serves a second checkout of discuss (``git archive main | tar -x -C DIR``) as a
third interleaved case, so a change is measured against the code before it in the same run.

--ceiling serves bench/writes_ceiling_app.py as one more interleaved case: a bare Flask app doing
only a post's writes (the same INSERTs and UPDATEs, raw sqlite3, same pragmas) under the same
gunicorn set-up, so the figures say how close discuss is to what the machine allows.

--profile records the discuss workers with py-spy (if installed) during one extra, unmeasured
run and writes a flame graph, so where the time goes can be read off the same set-up.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if "--root" in sys.argv:  # another checkout of discuss (e.g. an older commit) to measure instead
    ROOT = os.path.abspath(sys.argv[sys.argv.index("--root") + 1])
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__))))

from read_thread import parse_wrk, wait_up  # noqa: E402  (same wrk parsing as the read bench)

ISSO_VERSION = "0.14.0"
DISCUSS_PORT, ISSO_PORT, BASELINE_PORT, CEILING_PORT = 8401, 8402, 8403, 8404  # this bench's loopback ports

# One Lua script for both services: only the URL and the JSON differ. Each wrk thread numbers
# its requests; run number, thread id and counter make the client address, author and body
# unique across the whole benchmark (Isso's guard counts a /24's posts on a thread forever).
LUA = textwrap.dedent("""\
    local counter = 0
    local tid = 0
    local next_tid = 0
    function setup(thread)
      next_tid = next_tid + 1
      thread:set("tid", next_tid)
    end
    function init(args)
      tid = tonumber(tid) or 0
    end
    local words = {"council", "budget", "figures", "minutes", "march", "june", "vote", "road",
                   "school", "library", "tax", "park", "housing", "rent", "bus", "bridge"}
    function request()
      counter = counter + 1
      local n = counter
      local ip = string.format("%d.%d.%d.9", 10 + 2 * RUN + tid, math.floor(n / 256) % 256, n % 256)
      local body = string.format("Comment %d-%d-%d: the %s and the %s do not add up, says reader %d.",
                                 RUN, tid, n, words[n % 16 + 1], words[(n * 7) % 16 + 1], n)
      local name = string.format("Reader %d-%d-%d", RUN, tid, n)
      wrk.headers["Content-Type"] = "application/json"
      wrk.headers["X-Forwarded-For"] = ip
      return wrk.format("POST", PATH, nil, string.format(JSON, body, name))
    end
    """)
DISCUSS_LUA = ('PATH = "/api/v1/comments"\n'
               'JSON = \'{"site":"bench","article":"hot","body":"%s","author_name":"%s"}\'\n') + LUA
ISSO_LUA = ('PATH = "/new?uri=%2Fhot"\n'
            'JSON = \'{"text":"%s","author":"%s"}\'\n') + LUA
# wrk's setup() runs in the main Lua state; thread:set puts tid in each thread's globals.
DISCUSS_LUA = DISCUSS_LUA.replace("local tid = 0\n", "")
ISSO_LUA = ISSO_LUA.replace("local tid = 0\n", "")

ISSO_CFG = """\
[general]
dbpath = {db}
host = http://127.0.0.1:{port}/
notify = stdout
[moderation]
enabled = false
[server]
listen = http://127.0.0.1:{port}/
trusted-proxies = 127.0.0.1
[guard]
enabled = true
[admin]
enabled = false
"""


def seed_discuss(database_url: str) -> None:
    from flask_migrate import upgrade

    from discuss import create_app
    from discuss.extensions import db
    from discuss.models import Site

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SCORER_ENABLED": False})
    with app.app_context():
        upgrade()
        db.session.add(Site(slug="bench", name="Bench", allowed_origins=["http://127.0.0.1"], settings={}))
        db.session.commit()


def install_isso(workdir: str) -> str:
    venv = os.path.join(workdir, "isso-venv")
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    gunicorn = next(line.strip() for line in open(os.path.join(ROOT, "requirements.txt"))
                    if line.startswith("gunicorn=="))
    subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "--disable-pip-version-check",
                    "--no-warn-script-location",
                    f"isso=={ISSO_VERSION}", gunicorn], check=True, stderr=subprocess.DEVNULL)
    return venv


def post_json(url: str, payload: bytes, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=payload, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def process_cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        for child in [pid] + _children(pid):
            try:
                with open(f"/proc/{child}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except OSError:
                pass
    return total


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def wait_idle(pids: list[int], quiet_ticks: int = 2, timeout: float = 60) -> None:
    """Until the servers use (almost) no CPU for half a second: abandoned requests are done."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        before = process_cpu_ticks(pids)
        time.sleep(0.5)
        if process_cpu_ticks(pids) - before <= quiet_ticks:
            return


def run_wrk(url: str, script: str, seconds: int, connections: int) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url]
    output = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    result = parse_wrk(output)
    result["requests"] = int(output.split(" requests in ")[0].split()[-1])
    return result


def count_rows(db_path: str, table: str) -> int:
    with sqlite3.connect(db_path, timeout=30) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def start(cmd: list[str], env: dict, cwd: str, log: str) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--time-limit", type=int, default=600, help="give up after this many seconds in all")
    parser.add_argument("--profile", metavar="SVG", help="py-spy flame graph of discuss's workers (extra run); "
                        "a name ending in .txt gets collapsed stacks instead")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (databases, logs)")
    parser.add_argument("--root", default=ROOT, help="the discuss checkout to serve (default: this one)")
    parser.add_argument("--baseline", metavar="DIR", help="also serve this checkout of discuss (e.g. `git archive "
                        "main | tar -x -C DIR`) as a third case, interleaved: before/after in the same run")
    parser.add_argument("--ceiling", action="store_true", help="also serve bench/writes_ceiling_app.py: a bare "
                        "Flask app doing only a post's writes, the ceiling for this set-up")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y --no-upgrade wrk")
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("--time-limit reached")))
    signal.alarm(args.time_limit)

    workdir = tempfile.mkdtemp(prefix="discuss-bench-writes-")
    servers: list[subprocess.Popen] = []
    try:
        discuss_db = os.path.join(workdir, "discuss.db")
        seed_discuss(f"sqlite:///{discuss_db}")
        print("installing Isso into a throwaway virtualenv ...", flush=True)
        isso_venv = install_isso(workdir)
        isso_db = os.path.join(workdir, "isso.db")
        isso_cfg = os.path.join(workdir, "isso.cfg")
        with open(isso_cfg, "w") as fh:
            fh.write(ISSO_CFG.format(db=isso_db, port=ISSO_PORT))

        gunicorn_args = ["-w", str(args.workers), "--log-level", "warning"]
        discuss_env = {**os.environ, "DISCUSS_DATABASE_URL": f"sqlite:///{discuss_db}", "DISCUSS_SCORER_ENABLED": "0",
                       "DISCUSS_SECRET_KEY": "bench", "DISCUSS_PROXY_HOPS": "1", "DISCUSS_MAIL_ENABLED": "0"}
        discuss_env.pop("DISCUSS_REDIS_URL", None)
        discuss = start([sys.executable, "-m", "gunicorn", *gunicorn_args, "-b", f"127.0.0.1:{DISCUSS_PORT}",
                         "wsgi:app"], discuss_env, ROOT, os.path.join(workdir, "discuss.log"))
        servers.append(discuss)
        isso = start([os.path.join(isso_venv, "bin", "gunicorn"), *gunicorn_args, "-b", f"127.0.0.1:{ISSO_PORT}",
                      "isso.run"], {**os.environ, "ISSO_SETTINGS": isso_cfg}, workdir,
                     os.path.join(workdir, "isso.log"))
        servers.append(isso)
        discuss_base, isso_base = f"http://127.0.0.1:{DISCUSS_PORT}", f"http://127.0.0.1:{ISSO_PORT}"
        baseline_base = f"http://127.0.0.1:{BASELINE_PORT}"
        if args.baseline:
            baseline_db = os.path.join(workdir, "baseline.db")
            seed_discuss(f"sqlite:///{baseline_db}")
            baseline = start([sys.executable, "-m", "gunicorn", *gunicorn_args, "-b", f"127.0.0.1:{BASELINE_PORT}",
                              "wsgi:app"], {**discuss_env, "DISCUSS_DATABASE_URL": f"sqlite:///{baseline_db}"},
                             os.path.abspath(args.baseline), os.path.join(workdir, "baseline.log"))
            servers.append(baseline)
            wait_up(f"{baseline_base}/healthz")
            post_json(f"{baseline_base}/api/v1/comments",
                      b'{"site":"bench","article":"hot","article_title":"Hot","body":"First.","author_name":"First"}')
        ceiling_base = f"http://127.0.0.1:{CEILING_PORT}"
        if args.ceiling:
            ceiling_db = os.path.join(workdir, "ceiling.db")
            seed_discuss(f"sqlite:///{ceiling_db}")
            ceiling = start([sys.executable, "-m", "gunicorn", *gunicorn_args, "-b", f"127.0.0.1:{CEILING_PORT}",
                             "writes_ceiling_app:app"], {**os.environ, "CEILING_DATABASE": ceiling_db},
                            os.path.dirname(os.path.abspath(__file__)), os.path.join(workdir, "ceiling.log"))
            servers.append(ceiling)
            wait_up(f"{ceiling_base}/healthz")
            with sqlite3.connect(ceiling_db) as conn:  # the hot thread exists before the spike, as for the others
                conn.execute("INSERT INTO thread (site_id, article_id, title, is_closed, is_premoderated, "
                             "published_count, revision, created_at) SELECT id, 'hot', 'Hot', 0, 0, 0, 0, "
                             "datetime('now') FROM site WHERE slug = 'bench'")
        wait_up(f"{discuss_base}/healthz")
        wait_up(f"{isso_base}/info")
        # Each hot thread exists before the spike (Isso needs its title in the first post).
        post_json(f"{discuss_base}/api/v1/comments",
                  b'{"site":"bench","article":"hot","article_title":"Hot","body":"First.","author_name":"First"}')
        post_json(f"{isso_base}/new?uri=%2Fhot", b'{"text":"First.","author":"First","title":"Hot"}')

        runs = iter(range(1, 100))

        def script_for(name: str) -> str:
            """A fresh script for each run, numbered so no run repeats another's addresses."""
            path = os.path.join(workdir, f"{name}.lua")
            with open(path, "w") as fh:
                fh.write(f"RUN = {next(runs)}\n" + (ISSO_LUA if name == "isso" else DISCUSS_LUA))
            return path
        cases = {"discuss": (discuss_base + "/api/v1/comments", discuss, discuss_db, "comment"),
                 "isso": (isso_base + "/new", isso, isso_db, "comments")}
        if args.baseline:
            cases["baseline"] = (baseline_base + "/api/v1/comments", baseline, baseline_db, "comment")
        if args.ceiling:
            cases["ceiling"] = (ceiling_base + "/api/v1/comments", ceiling, ceiling_db, "comment")

        if args.profile:
            profile(discuss, cases["discuss"][0], script_for("discuss"), args)

        results: dict[str, list[dict]] = {name: [] for name in cases}
        print(f"discuss from {ROOT} ({_commit(ROOT)})")
        print(f"POST a comment, scoring off: gunicorn {args.workers} sync workers each, SQLite, wrk 2 threads, "
              f"{args.connections} connections, {args.seconds} s per case, {args.rounds} rounds interleaved\n")
        print(f"{'round':>5} {'server':8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'rows ok':>8}")
        for round_no in range(args.rounds):
            order = list(cases) if round_no % 2 == 0 else list(reversed(cases))
            for name in order:
                url, proc, db_path, table = cases[name]
                wait_idle([s.pid for s in servers])
                before = count_rows(db_path, table)
                result = run_wrk(url, script_for(name), args.seconds, args.connections)
                wait_idle([s.pid for s in servers])
                stored = count_rows(db_path, table) - before
                # wrk counts the answers it read; requests it abandoned at the end may still land.
                result["rows_ok"] = stored >= result["requests"] - result["non_2xx"]
                results[name].append(result)
                print(f"{round_no + 1:>5} {name:8} {result['rps']:>8.0f} {result['p50_ms']:>8.1f} "
                      f"{result['p99_ms']:>8.1f} {result['non_2xx']:>8} {str(result['rows_ok']):>8}", flush=True)

        med = {name: {key: statistics.median(r[key] for r in runs) for key in ("rps", "p50_ms", "p99_ms")}
               for name, runs in results.items()}
        print(f"\nmedians     {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
        for name in ("isso", "baseline", "discuss", "ceiling"):
            if name not in med:
                continue
            m = med[name]
            print(f"{name:11} {m['rps']:>8.0f} {m['p50_ms']:>8.1f} {m['p99_ms']:>8.1f}")
        ratio = med["discuss"]["rps"] / med["isso"]["rps"]
        print(f"\ndiscuss / Isso throughput: {ratio:.2f}x (target >= 1.0); "
              f"discuss p99 {med['discuss']['p99_ms']:.0f} ms (target < 100 ms)")
        if "baseline" in med:
            print(f"discuss / baseline ({args.baseline}) throughput: "
                  f"{med['discuss']['rps'] / med['baseline']['rps']:.2f}x; baseline / Isso "
                  f"{med['baseline']['rps'] / med['isso']['rps']:.2f}x")
        if "ceiling" in med:
            print(f"discuss / ceiling (bare Flask, the same writes in raw sqlite3) throughput: "
                  f"{med['discuss']['rps'] / med['ceiling']['rps']:.2f}x; Isso / ceiling "
                  f"{med['isso']['rps'] / med['ceiling']['rps']:.2f}x")
        refused = sum(r["non_2xx"] for runs in results.values() for r in runs)
        if refused or not all(r["rows_ok"] for runs in results.values() for r in runs):
            print(f"WARNING: {refused} non-2xx answers or missing rows: the figures are not a clean comparison")
    finally:
        for proc in servers:
            stop(proc)
        if args.keep:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _commit(root: str) -> str:
    try:
        return subprocess.run(["git", "-C", root, "log", "-1", "--format=%h %s"], capture_output=True, text=True,
                              timeout=10).stdout.strip()[:60]
    except (OSError, subprocess.SubprocessError):
        return "?"


def profile(server: subprocess.Popen, url: str, script: str, args) -> None:
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(spy):
        print("py-spy is not installed (pip install py-spy): no profile")
        return
    fmt = ["--format", "raw"] if args.profile.endswith(".txt") else []  # .txt: collapsed stacks, to add up
    recorder = subprocess.Popen([spy, "record", "-o", args.profile, *fmt, "--subprocesses", "--idle", "-r", "200",
                                 "--pid", str(server.pid), "-d", str(args.seconds + 2)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    time.sleep(1)
    run_wrk(url, script, args.seconds, args.connections)
    recorder.wait(args.seconds + 30)
    print(f"profile of one unmeasured run written to {args.profile}")


if __name__ == "__main__":
    main()
