"""Live updates under load: 1,000 open widgets on one thread, served by gunicorn (2 sync workers).

Each simulated widget does what thread.js does: every LIVE_POLL_SECONDS (3 s, with a random
phase) it GETs /api/v1/live with the ETag it last saw (If-None-Match); when the newest comment
id moves, the answer carries the newest comments (it GETs /api/v1/live/new only when it is
further behind than those). Every request opens its own
connection (gunicorn's sync workers close each one, as they would behind a proxy).

Phases, all time-limited:
1. steady state, nothing posted: the server's CPU (gunicorn master + workers, from /proc) as a
   share of one core, and the poll rate and 304 share;
2. posts: a comment is posted every few seconds through the API; for every post and every
   widget, the delay from the POST returning to that widget holding the comment;
3. the peer, in the same run: the same widgets refetching the whole first page of the thread
   (GET /api/v1/comments, the usual way to "update" without a revision endpoint) at the same
   interval, with its server CPU, so the ratio shows what the revision endpoint saves;
4. the floor, in the same run: a bare WSGI app that answers every poll with a 304, under the same
   gunicorn: what the HTTP handling alone costs at this poll rate, whatever the app does;
5. phases 1 and 2 again behind nginx with proxy_cache (as a CDN or a caching reverse proxy in
   front would be), which keeps the poll for the second its s-maxage allows: the origin's CPU
   and nginx's are printed apart. Skipped if nginx is not installed.

The client runs on the same machine (asyncio, one process) and competes for the same 2 cores;
the machine is shared, so figures are noisy: compare within a run.

    .venv/bin/python bench/live.py [--widgets 1000] [--idle-seconds 20] [--posts 6]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from shutil import which

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.read_thread import free_port, server_env, wait_up  # noqa: E402

SITE, ARTICLE = "bench", "breaking"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def seed(database_url: str, comments: int) -> None:
    from flask_migrate import upgrade

    from discuss import create_app
    from discuss.extensions import db
    from discuss.models import AuthorKind, Comment, CommentStatus, Site, Thread, User
    from discuss.models.queries import touch_thread
    from discuss.sanitize import html_to_text, render_markdown

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SCORER_ENABLED": False})
    with app.app_context():
        upgrade()
        site = Site(slug=SITE, name="Bench", allowed_origins=["http://127.0.0.1"], settings={"toxicity_nudge": False})
        db.session.add(site)
        db.session.flush()
        author = User(kind=AuthorKind.GUEST, display_name="Reader")
        thread = Thread(site_id=site.id, article_id=ARTICLE, title="Breaking", url="http://127.0.0.1/breaking")
        db.session.add_all([author, thread])
        db.session.flush()
        html = render_markdown("An early comment on the breaking story, with **some** emphasis.")
        for _ in range(comments):
            comment = Comment(thread_id=thread.id, author_id=author.id, author_name="Reader", body_markdown="x",
                              body_html=html, body_text=html_to_text(html), status=CommentStatus.PUBLISHED, depth=0)
            db.session.add(comment)
            db.session.flush()
            comment.root_id = comment.id
        touch_thread(thread.id)
        db.session.commit()


def process_tree(pid: int) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid, *(int(c) for c in children)]


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except FileNotFoundError:
            pass
    return total / CLK_TCK


async def http_get(port: int, path: str, etag: str | None = None) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nConnection: close\r\n"
    if etag:
        head += f"If-None-Match: {etag}\r\n"
    writer.write((head + "\r\n").encode())
    data = await reader.read()
    writer.close()
    header, _, body = data.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


class Stats:
    def __init__(self):
        self.requests = self.not_modified = self.errors = 0
        self.delays: list[float] = []
        self.posted_at: dict[int, float] = {}
        self.client_cpu = 0.0


async def widget(port: int, poll: float, stats: Stats, stop: asyncio.Event, mode: str, last_id: int) -> None:
    query = f"site={SITE}&article={ARTICLE}"
    etag = None
    await asyncio.sleep(random.uniform(0, poll))  # widgets open at different moments
    while not stop.is_set():
        started = time.monotonic()
        try:
            if mode == "revision":
                status, headers, body = await http_get(port, f"/api/v1/live?{query}", etag)
                stats.requests += 1
                if status == 304:
                    stats.not_modified += 1
                elif status == 200:
                    etag = headers.get("etag")
                    state = json.loads(body)
                    if state["last_id"] > last_id:
                        recent = state["recent"]
                        if len(recent) >= 20 and recent[0]["id"] > last_id:  # further behind: ask for the rest
                            _, _, body = await http_get(port, f"/api/v1/live/new?{query}&after={last_id}")
                            stats.requests += 1
                            recent = json.loads(body)["comments"]
                        now = time.monotonic()
                        for comment in (c for c in recent if c["id"] > last_id):
                            last_id = max(last_id, comment["id"])
                            if comment["id"] in stats.posted_at:
                                stats.delays.append(now - stats.posted_at[comment["id"]])
            else:  # the peer: refetch the first page of the thread
                status, _, _ = await http_get(port, f"/api/v1/comments?{query}&limit=50")
                stats.requests += 1
            if status >= 400:
                stats.errors += 1
        except OSError:
            stats.errors += 1
        await asyncio.sleep(max(0.0, poll - (time.monotonic() - started)))


async def post_comment(port: int, n: int) -> int:
    body = json.dumps({"site": SITE, "article": ARTICLE, "body": f"Update {n} from the scene ({time.time_ns()}).",
                       "author_name": "Reporter"}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST /api/v1/comments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    data = await reader.read()
    writer.close()
    return json.loads(data.partition(b"\r\n\r\n")[2])["comment"]["id"]


async def run_phase(port: int, groups: dict[str, list[int]], widgets: int, poll: float, mode: str, seconds: float,
                    posts: int = 0, post_every: float = 0.0, last_id: int = 0,
                    post_port: int | None = None) -> tuple[Stats, dict[str, float], float, float]:
    """Returns (stats, CPU per process group as a share of one core, requests/s, 304 share) over the
    measured window, which starts once every widget is polling."""
    stats, stop = Stats(), asyncio.Event()
    tasks = [asyncio.create_task(widget(port, poll, stats, stop, mode, last_id)) for _ in range(widgets)]
    await asyncio.sleep(poll + 1)  # every widget has started polling
    requests0, not_modified0, t0, client0 = stats.requests, stats.not_modified, time.monotonic(), _own_cpu()
    cpu0 = {name: cpu_seconds(pids) for name, pids in groups.items()}
    if posts:
        for n in range(posts):
            comment_id = await post_comment(post_port or port, n)
            stats.posted_at[comment_id] = time.monotonic()
            await asyncio.sleep(post_every)
        await asyncio.sleep(poll + 3)  # the last post reaches every widget
    else:
        await asyncio.sleep(seconds)
    elapsed = time.monotonic() - t0
    stats.client_cpu = (_own_cpu() - client0) / elapsed
    cpu = {name: (cpu_seconds(pids) - cpu0[name]) / elapsed for name, pids in groups.items()}
    requests = stats.requests - requests0
    share_304 = (stats.not_modified - not_modified0) / max(requests, 1)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return stats, cpu, requests / elapsed, share_304


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


NGINX_CONF = """daemon off; worker_processes 1; pid {dir}/nginx.pid; error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  proxy_cache_path {dir}/cache keys_zone=live:1m;
  upstream origin {{ server 127.0.0.1:{origin}; }}
  server {{
    listen 127.0.0.1:{port};
    location = /api/v1/live {{
      proxy_pass http://origin; proxy_cache live; proxy_cache_key $request_uri;
      proxy_cache_lock on;
    }}
    location / {{ proxy_pass http://origin; }}
  }}
}}
"""


FLOOR_APP = """def app(environ, start_response):
    start_response("304 NOT MODIFIED", [("ETag", '"0.0"')])
    return [b""]
"""


def start_floor() -> tuple[subprocess.Popen, int]:
    folder = tempfile.mkdtemp(prefix="discuss-floor-")
    with open(os.path.join(folder, "floor_app.py"), "w") as fh:
        fh.write(FLOOR_APP)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--backlog",
                             "4096", "--chdir", folder, "--log-level", "warning", "floor_app:app"],
                            cwd=folder, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, port
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def start_nginx(workdir: str, origin: int) -> tuple[subprocess.Popen, int] | None:
    if not which("nginx"):
        return None
    port = free_port()
    conf = os.path.join(workdir, "nginx.conf")
    os.makedirs(os.path.join(workdir, "cache"), exist_ok=True)
    os.chmod(workdir, 0o755)  # nginx's workers (user nobody, when started as root) write the cache here
    os.chmod(os.path.join(workdir, "cache"), 0o777)
    with open(conf, "w") as fh:
        fh.write(NGINX_CONF.format(dir=workdir, origin=origin, port=port))
    proc = subprocess.Popen(["nginx", "-p", workdir, "-c", conf], stderr=subprocess.DEVNULL)
    wait_up(f"http://127.0.0.1:{port}/healthz")
    return proc, port


async def main_async(args, port: int, pids: list[int], proxy: tuple[int, list[int]] | None) -> None:
    poll, origin = args.poll, {"origin": pids}
    print(f"{args.widgets} widgets on one {args.comments}-comment thread, poll every {poll:g} s; gunicorn "
          f"{args.workers} sync workers, SQLite; client on the same machine (shared: figures are noisy)\n")
    last_id = args.comments  # every widget opened with the thread as it is
    idle, cpu, rate, share = await run_phase(port, origin, args.widgets, poll, "revision", args.idle_seconds,
                                             last_id=last_id)
    idle_cpu = cpu["origin"]
    print(f"revision polling, nothing posted ({args.idle_seconds:g} s): server CPU {100 * idle_cpu:.1f}% of one core "
          f"(target < 10%), {rate:.0f} req/s, {100 * share:.0f}% answered 304, {idle.errors} errors; "
          f"the client used {100 * idle.client_cpu:.0f}% of a core")
    live_run, cpu, _, _ = await run_phase(port, origin, args.widgets, poll, "revision", 0, posts=args.posts,
                                          post_every=args.post_every, last_id=last_id)
    last_id += args.posts
    print(f"revision polling, {args.posts} posts {args.post_every:g} s apart: post -> shown in the other widgets "
          f"p50 {pct(live_run.delays, .5):.2f} s, p95 {pct(live_run.delays, .95):.2f} s (target < 5 s), max "
          f"{max(live_run.delays or [float('nan')]):.2f} s; {len(live_run.delays)}/{args.posts * args.widgets} "
          f"deliveries, server CPU {100 * cpu['origin']:.1f}%, {live_run.errors} errors; the client used "
          f"{100 * live_run.client_cpu:.0f}% of a core")
    peer, cpu, rate, _ = await run_phase(port, origin, args.widgets, poll, "refetch", args.idle_seconds)
    print(f"peer: refetching the thread's first page instead, nothing posted ({args.idle_seconds:g} s): server CPU "
          f"{100 * cpu['origin']:.1f}% of one core, {rate:.0f} req/s, {peer.errors} errors")
    print(f"steady-state server CPU, revision polling / refetching the thread: {idle_cpu / cpu['origin']:.2f}x")
    floor = await asyncio.to_thread(start_floor)
    try:
        _, cpu, rate, _ = await run_phase(floor[1], {"floor": process_tree(floor[0].pid)}, args.widgets, poll,
                                          "revision", args.idle_seconds, last_id=last_id)
    finally:
        floor[0].terminate()
        floor[0].wait(10)
    print(f"floor: a bare WSGI app answering 304 under the same gunicorn ({args.idle_seconds:g} s): CPU "
          f"{100 * cpu['floor']:.1f}% of one core at {rate:.0f} req/s; revision polling costs "
          f"{idle_cpu / cpu['floor']:.2f}x the floor")
    if proxy is None:
        print("\nnginx is not installed: the caching-proxy phases are skipped (apt-get install -y --no-upgrade nginx)")
        return
    proxy_port, nginx_pids = proxy
    groups = {"origin": pids, "nginx": nginx_pids}
    idle, cpu, rate, share = await run_phase(proxy_port, groups, args.widgets, poll, "revision", args.idle_seconds,
                                             last_id=last_id)
    print(f"\nbehind nginx proxy_cache (honours s-maxage=1), nothing posted ({args.idle_seconds:g} s): {rate:.0f} "
          f"req/s, {100 * share:.0f}% answered 304; origin (gunicorn) CPU {100 * cpu['origin']:.1f}% of one core, "
          f"nginx {100 * cpu['nginx']:.1f}%, {idle.errors} errors")
    live_run, cpu, _, _ = await run_phase(proxy_port, groups, args.widgets, poll, "revision", 0, posts=args.posts,
                                          post_every=args.post_every, last_id=last_id, post_port=port)
    print(f"behind nginx proxy_cache, {args.posts} posts: post -> shown p50 {pct(live_run.delays, .5):.2f} s, "
          f"p95 {pct(live_run.delays, .95):.2f} s (target < 5 s); {len(live_run.delays)}/"
          f"{args.posts * args.widgets} deliveries, origin CPU {100 * cpu['origin']:.1f}%, nginx "
          f"{100 * cpu['nginx']:.1f}%, {live_run.errors} errors")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widgets", type=int, default=1000)
    parser.add_argument("--comments", type=int, default=200)
    parser.add_argument("--poll", type=float, default=3.0, help="seconds between polls (the widget's default)")
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--posts", type=int, default=6)
    parser.add_argument("--post-every", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-proxy", action="store_true", help="skip the nginx proxy_cache phases")
    parser.add_argument("--time-limit", type=float, default=300.0, help="give up after this many seconds")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="discuss-live-")
    database_url = f"sqlite:///{workdir}/bench.db"
    seed(database_url, args.comments)
    port = free_port()
    env = server_env(database_url, "bench", DISCUSS_RATELIMIT_ENABLED="0", DISCUSS_LIVE_POLL_SECONDS=str(int(args.poll)))
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
                               "--backlog", "4096", "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    nginx = None
    try:
        wait_up(f"http://127.0.0.1:{port}/healthz")
        pids = process_tree(server.pid)
        nginx = None if args.no_proxy else start_nginx(workdir, port)
        proxy = (nginx[1], process_tree(nginx[0].pid)) if nginx else None
        asyncio.run(asyncio.wait_for(main_async(args, port, pids, proxy), timeout=args.time_limit))
    except asyncio.TimeoutError:
        sys.exit(f"stopped at the {args.time_limit:g} s time limit")
    finally:
        if nginx:
            nginx[0].terminate()
            nginx[0].wait(10)
        server.terminate()
        server.wait(10)
        if os.environ.get("BENCH_KEEP"):
            print("kept", workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
