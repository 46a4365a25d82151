"""A reader spike on one article: 1,000 readers through nginx proxy_cache vs straight to gunicorn.

Seeds a 200-comment thread (SQLite), starts discuss under gunicorn (2 sync workers, as deployed:
DISCUSS_PROXY_HOPS=1 behind the proxy, rate limits on) and a real nginx (Debian's package, started
by this script on a port of its own, never as a service) with the proxy_cache configuration from
docs/deploy.md. wrk then drives 1,000 connections at the widget's first-page request
(``GET /api/v1/comments?site=…&article=…&sort=oldest&limit=50``), first straight at gunicorn, then
through nginx, for the same time each, in alternating rounds; it prints throughput, p50/p99 and errors for every
phase, the ratio of the medians, and the CPU the origin spent in each phase.

During the nginx phase it also posts comments (through nginx, as a reader would) and measures how
long each takes to appear through the cache: an anonymous reader polling the same URL through
nginx every 100 ms, from the moment the POST returned, until the page's ``thread.last_id`` is the
new comment's id. The site's
max-age (``cache_max_age_seconds``, 10 s by default; --max-age to change) bounds it.

    .venv/bin/python bench/spike.py [--connections 1000] [--seconds 20] [--rounds 3] [--posts 1] [--max-age 10]

Targets (issue 19): through nginx at least 10x the direct throughput; new comments visible
within max-age. nginx missing: ``apt-get install -y --no-upgrade nginx`` (this script does that
when it runs as root and apt-get is there).
"""
from __future__ import annotations

import argparse
import itertools
import resource
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.live import ARTICLE, SITE, cpu_seconds, process_tree, seed  # noqa: E402
from bench.read_thread import run_wrk, server_env, wait_up  # noqa: E402
from bench.reads import gunicorn, port_in_range  # noqa: E402

PAGE = f"/api/v1/comments?site={SITE}&article={ARTICLE}&sort=oldest&limit=50"

# The caching part of docs/deploy.md's configuration, on loopback without TLS.
NGINX_CONF = """daemon off; worker_processes auto; pid {dir}/nginx.pid; error_log {dir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;
  open_file_cache max=1000 inactive=60s;
  proxy_cache_path {dir}/cache keys_zone=discuss:10m max_size=1g inactive=10m use_temp_path=off;
  upstream discuss {{ server 127.0.0.1:{origin}; }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_set_header X-Forwarded-Proto $scheme;
    location /api/v1/ {{
      proxy_pass http://discuss;
      proxy_cache discuss;
      proxy_cache_key $scheme$host$request_uri;
      proxy_cache_lock on;
      proxy_cache_revalidate on;
      proxy_cache_background_update on;
      proxy_cache_use_stale updating error timeout http_500 http_502 http_503 http_504;
      proxy_cache_bypass $http_authorization $cookie_session;
      proxy_no_cache $http_authorization $cookie_session;
      add_header X-Cache-Status $upstream_cache_status always;
    }}
    location / {{ proxy_pass http://discuss; }}
  }}
}}
"""


def ensure_nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "--no-upgrade", "nginx"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)
        return "/usr/sbin/nginx"
    sys.exit("nginx is needed: apt-get install -y --no-upgrade nginx")


def start_nginx(binary: str, workdir: str, origin: int, port: int) -> subprocess.Popen:
    os.makedirs(os.path.join(workdir, "cache"), exist_ok=True)
    os.chmod(workdir, 0o755)  # nginx's workers (user nobody, when started as root) write the cache here
    os.chmod(os.path.join(workdir, "cache"), 0o777)
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as fh:
        fh.write(NGINX_CONF.format(dir=workdir, origin=origin, port=port))
    proc = subprocess.Popen([binary, "-p", workdir, "-c", conf], stderr=subprocess.DEVNULL)
    wait_up(f"http://127.0.0.1:{port}/healthz")
    return proc


def get(url: str) -> tuple[dict, dict]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read()), dict(response.headers)


_posted = itertools.count(1)


def post_comment(base: str) -> int:
    n = next(_posted)
    body = {"site": SITE, "article": ARTICLE, "body": f"Spike comment {n}: still reading.",
            "author_name": f"Spike reader {n}"}
    request = urllib.request.Request(base + "/api/v1/comments", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    if answer.get("status") != "published":
        raise RuntimeError(f"the spike comment was not published: {answer}")
    return answer["comment"]["id"]


def visible_after(base: str, comment_id: int, posted: float, limit: float) -> float | None:
    while time.monotonic() - posted < limit:
        page, _ = get(base + PAGE)
        if page["thread"]["last_id"] >= comment_id:
            return time.monotonic() - posted
        time.sleep(0.1)
    return None


def measure(name: str, base: str, args, pids: list[int], proxy_pids: list[int] | None = None, posts: int = 0,
            post_base: str | None = None) -> dict:
    delays: list[float | None] = []

    def poster():
        time.sleep(2.0)
        for _ in range(posts):
            comment_id = post_comment(post_base)
            posted = time.monotonic()  # the POST returned: the comment is committed
            delays.append(visible_after(base, comment_id, posted, args.max_age + 30))
            time.sleep(1.0)

    thread = threading.Thread(target=poster, daemon=True) if posts else None
    before, proxy_before = cpu_seconds(pids), cpu_seconds(proxy_pids or [])
    client_before = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk is the only child that exits
    started = time.monotonic()
    if thread:
        thread.start()
    result = run_wrk(base + PAGE, args.seconds, args.connections)
    if thread:
        thread.join(args.max_age * posts + 60)
    elapsed = time.monotonic() - started
    result["origin_cpu"] = (cpu_seconds(pids) - before) / elapsed
    result["proxy_cpu"] = (cpu_seconds(proxy_pids or []) - proxy_before) / elapsed
    # Requests answered per second of server CPU (origin + proxy): what each set-up costs,
    # whatever share of the loaded machine it got.
    client = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["wrk_cpu"] = (client.ru_utime + client.ru_stime - client_before.ru_utime - client_before.ru_stime) / elapsed
    result["per_cpu_second"] = result["rps"] / max(result["origin_cpu"] + result["proxy_cpu"], 1e-9)
    result["delays"] = delays
    print(f"{name:28} {result['rps']:>9.0f} {result['p50_ms']:>8.1f} {result['p99_ms']:>9.1f} "
          f"{result['non_2xx']:>8} {100 * result['origin_cpu']:>10.0f}% {100 * result['proxy_cpu']:>9.0f}% "
          f"{result['per_cpu_second']:>10.0f} {100 * result['wrk_cpu']:>8.0f}%  {result['socket_errors']}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--posts", type=int, default=1, help="comments posted during each nginx phase")
    parser.add_argument("--rounds", type=int, default=3, help="direct and nginx phases, alternating; medians")
    parser.add_argument("--max-age", type=int, default=10, help="the site's cache_max_age_seconds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ports", default="8300-8399")
    parser.add_argument("--time-limit", type=float, default=420.0)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y --no-upgrade wrk")
    nginx_binary = ensure_nginx()
    signal.signal(signal.SIGALRM, lambda *_: sys.exit(f"stopped at the {args.time_limit:g} s time limit"))
    signal.alarm(int(args.time_limit))
    first, last = (int(p) for p in args.ports.split("-"))
    taken: set[int] = set()
    workdir = tempfile.mkdtemp(prefix="discuss-spike-")
    database_url = f"sqlite:///{workdir}/bench.db"
    seed(database_url, 200)
    _set_max_age(database_url, args.max_age)
    env = server_env(database_url, "bench-spike-secret-key", DISCUSS_PROXY_HOPS="1")
    processes: list[subprocess.Popen] = []
    try:
        origin_port = port_in_range(first, last, taken)
        processes.append(gunicorn("wsgi:app", origin_port, args.workers, env, ROOT))
        origin = f"http://127.0.0.1:{origin_port}"
        wait_up(f"{origin}/healthz")
        proxy_port = port_in_range(first, last, taken)
        processes.append(start_nginx(nginx_binary, workdir, origin_port, proxy_port))
        proxy = f"http://127.0.0.1:{proxy_port}"
        _, headers = get(proxy + PAGE)
        print(f"{args.connections} readers (wrk connections) on one 200-comment thread, first page (50 top-level "
              f"comments), {args.seconds} s per phase; gunicorn {args.workers} sync workers, SQLite; nginx "
              f"proxy_cache; max-age {args.max_age} s. Origin answers: Cache-Control: {headers['Cache-Control']}\n")
        print(f"{'phase':28} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>9} {'non-2xx':>8} {'origin CPU':>11} {'nginx CPU':>10} {'req/CPU-s':>10} {'wrk CPU':>9}")
        pids = process_tree(processes[0].pid)
        nginx_pids = process_tree(processes[1].pid)
        runs: dict[str, list[dict]] = {"direct": [], "nginx": []}
        for round_no in range(args.rounds):
            order = ("direct", "nginx") if round_no % 2 == 0 else ("nginx", "direct")
            for phase in order:
                time.sleep(3)  # gunicorn's sync workers finish the requests wrk abandoned
                if phase == "direct":
                    runs["direct"].append(measure("straight to gunicorn", origin, args, pids))
                else:
                    runs["nginx"].append(measure("through nginx proxy_cache", proxy, args, pids, nginx_pids, posts=args.posts,
                                                 post_base=proxy))
        keys = ("rps", "p99_ms", "per_cpu_second")
        direct = {k: statistics.median(r[k] for r in runs["direct"]) for k in keys}
        cached = {k: statistics.median(r[k] for r in runs["nginx"]) for k in keys}
        print(f"\nmedians of {args.rounds} rounds: {direct['rps']:.0f} req/s direct, {cached['rps']:.0f} through nginx: "
              f"{cached['rps'] / direct['rps']:.1f}x (target >= 10x); p99 {cached['p99_ms']:.1f} ms through nginx vs "
              f"{direct['p99_ms']:.1f} ms direct (wrk leaves requests over its 2 s timeout out of the latencies: "
              f"see the timeouts)")
        print(f"requests per second of server CPU: {direct['per_cpu_second']:.0f} direct, {cached['per_cpu_second']:.0f} "
              f"through nginx (origin + nginx): {cached['per_cpu_second'] / direct['per_cpu_second']:.1f}x")
        delays = [d for r in runs["nginx"] for d in r["delays"]]
        shown = sorted(d for d in delays if d is not None)
        print("new comment -> visible through the cache, while the spike ran: "
              + ", ".join(f"{d:.1f} s" if d is not None else "never (max-age + 30 s)" for d in delays)
              + f"; max {max(shown or [float('nan')]):.1f} s (max-age {args.max_age} s; target: within max-age)")
    finally:
        for proc in reversed(processes):
            proc.terminate()
        for proc in processes:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:  # still busy with requests wrk abandoned
                proc.kill()
                proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def _set_max_age(database_url: str, max_age: int) -> None:
    from discuss import create_app
    from discuss.extensions import db
    from discuss.models import Site

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SCORER_ENABLED": False})
    with app.app_context():
        site = db.session.query(Site).filter_by(slug=SITE).one()
        site.settings = {**(site.settings or {}), "cache_max_age_seconds": max_age}
        db.session.commit()


if __name__ == "__main__":
    main()
