"""Cached public reads against their ceiling: discuss vs a bare Flask app serving the same bytes.

Both run under the same gunicorn set-up (2 sync workers by default) on loopback, driven by wrk
(2 threads, 16 connections). Cases: GET a 200-comment thread page (every comment, limit=200),
the counts of 2 articles as a cacheable GET, and the same counts as the widget's older POST.
discuss runs as deployed: rate limiting on (in memory, or in Redis with --redis), metrics on,
anonymous requests. Each round runs every case against discuss and against the bare app, in
alternating order, waiting for both servers to be idle in between; the figures are the medians
over the rounds, and the ratio is discuss / bare of those medians.

    .venv/bin/python bench/reads.py [--rounds 5] [--seconds 5] [--redis redis://127.0.0.1:6379/3]

Targets (issue 19): at least 60% of bare Flask's req/s, p99 under 50 ms.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.read_thread import run_wrk, seed, server_env, wait_up  # noqa: E402

COUNTS_BODY = '{"site":"bench","articles":["t200","t2000"]}'
CASES = (  # (name, method, path, body)
    ("thread page, 200 comments", "GET", "/api/v1/comments?site=bench&article=t200&limit=200", None),
    ("counts, 2 articles (GET)", "GET", "/api/v1/counts?site=bench&article=t200&article=t2000", None),
    ("counts, 2 articles (POST)", "POST", "/api/v1/counts", COUNTS_BODY),
)


def port_in_range(first: int, last: int, taken: set[int]) -> int:
    """A free port in [first, last] (benchmarks on a shared machine keep to their own range)."""
    for port in range(first, last + 1):
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise RuntimeError(f"no free port in {first}-{last}")


def gunicorn(app: str, port: int, workers: int, env: dict[str, str], cwd: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                             "--backlog", "4096", "--log-level", "warning", app], cwd=cwd, env=env)


def fetch(base: str, method: str, path: str, body: str | None) -> bytes:
    request = urllib.request.Request(base + path, method=method, data=body.encode() if body else None,
                                     headers={"Content-Type": "application/json"} if body else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def wait_idle(pids: list[int], seconds: float = 15.0) -> None:
    """gunicorn's sync workers keep serving requests wrk abandoned: wait until they are done."""
    from bench.live import cpu_seconds

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        before = cpu_seconds(pids)
        time.sleep(0.3)
        if cpu_seconds(pids) - before < 0.02:
            return


def lua_script(folder: str, name: str, method: str, body: str | None) -> str | None:
    if method == "GET":
        return None
    path = os.path.join(folder, f"{name}.lua")
    with open(path, "w") as fh:
        fh.write(f'wrk.method = "{method}"\nwrk.body = {json.dumps(body)}\n'
                 'wrk.headers["Content-Type"] = "application/json"\n')
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis", help="rate-limit storage (default: in memory)")
    parser.add_argument("--ports", default="8300-8399", help="port range for the servers")
    parser.add_argument("--time-limit", type=float, default=600.0)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y --no-upgrade wrk")
    signal.signal(signal.SIGALRM, lambda *_: sys.exit(f"stopped at the {args.time_limit:g} s time limit"))
    signal.alarm(int(args.time_limit))
    from bench.live import process_tree

    first, last = (int(p) for p in args.ports.split("-"))
    taken: set[int] = set()
    workdir = tempfile.mkdtemp(prefix="discuss-reads-")
    database_url = f"sqlite:///{workdir}/bench.db"
    seed(database_url)
    env = server_env(database_url, "bench-reads-secret-key")
    if args.redis:
        env["DISCUSS_REDIS_URL"] = args.redis
    servers: list[subprocess.Popen] = []
    try:
        port = port_in_range(first, last, taken)
        servers.append(gunicorn("wsgi:app", port, args.workers, env, ROOT))
        discuss = f"http://127.0.0.1:{port}"
        wait_up(f"{discuss}/healthz")
        routes = {}
        for index, (name, method, path, body) in enumerate(CASES):
            with open(os.path.join(workdir, f"case{index}.json"), "wb") as fh:
                fh.write(fetch(discuss, method, path, body))
            routes[path] = f"case{index}.json"
        with open(os.path.join(workdir, "routes.json"), "w") as fh:
            json.dump(routes, fh)
        bare_port = port_in_range(first, last, taken)
        servers.append(gunicorn("bare_flask:app", bare_port, args.workers,
                                {**os.environ, "BENCH_BARE_DIR": workdir}, os.path.join(ROOT, "bench")))
        bare = f"http://127.0.0.1:{bare_port}"
        wait_up(f"{bare}{CASES[0][2]}")
        for _, method, path, body in CASES:  # the ceiling must answer the very same bytes
            assert fetch(bare, method, path, body) == fetch(discuss, method, path, body), path
        pids = {"discuss": process_tree(servers[0].pid), "bare": process_tree(servers[1].pid)}
        bases = {"discuss": discuss, "bare": bare}
        results: dict[tuple[str, str], list[dict]] = {}
        print(f"gunicorn {args.workers} sync workers, wrk 2 threads, {args.connections} connections, SQLite, "
              f"rate limits in {'Redis' if args.redis else 'memory'}; {args.rounds} rounds of {args.seconds} s per "
              f"case and server, interleaved; medians\n", flush=True)
        for round_no in range(args.rounds):
            order = ("discuss", "bare") if round_no % 2 == 0 else ("bare", "discuss")
            for index, (name, method, path, body) in enumerate(CASES):
                script = lua_script(workdir, f"case{index}", method, body)
                for server in order:
                    wait_idle(pids["discuss"] + pids["bare"])
                    result = run_wrk(bases[server] + path, args.seconds, args.connections, script)
                    results.setdefault((name, server), []).append(result)
        print(f"{'case':28} {'bytes':>7} {'discuss req/s':>14} {'p99 ms':>7} {'bare req/s':>11} {'p99 ms':>7} "
              f"{'ratio':>6} {'non-2xx':>8}")
        for index, (name, method, path, body) in enumerate(CASES):
            ours, theirs = results[(name, "discuss")], results[(name, "bare")]
            rps = statistics.median(r["rps"] for r in ours)
            bare_rps = statistics.median(r["rps"] for r in theirs)
            p99 = statistics.median(r["p99_ms"] for r in ours)
            bare_p99 = statistics.median(r["p99_ms"] for r in theirs)
            errors = sum(r["non_2xx"] for r in ours)
            size = os.path.getsize(os.path.join(workdir, f"case{index}.json"))
            print(f"{name:28} {size:>7} {rps:>14.0f} {p99:>7.2f} {bare_rps:>11.0f} {bare_p99:>7.2f} "
                  f"{rps / bare_rps:>5.0%} {errors:>8}")
        print("\nper round (discuss / bare req/s):")
        for name, *_ in CASES:
            pairs = zip(results[(name, "discuss")], results[(name, "bare")])
            print(f"  {name:28} " + "  ".join(f"{a['rps']:.0f}/{b['rps']:.0f}" for a, b in pairs))
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:  # still busy with requests wrk abandoned
                server.kill()
                server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
