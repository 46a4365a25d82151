"""Read-path benchmark: thread reads and the counts call, served by gunicorn (2 workers).

Seeds a SQLite database through the migrations with a 200-comment thread (50 top-level
comments with 3 replies each) and a 2,000-comment thread (200 top-level with 9 replies
each), starts gunicorn on loopback, and drives it with wrk (Debian's package) at 16
connections. Each thread is read whole (limit=200 top-level comments = every comment).

    .venv/bin/python bench/read_thread.py [--seconds 10] [--connections 16] [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

COUNTS_LUA = """wrk.method = "POST"
wrk.body = '{"site":"bench","articles":["t200","t2000","a1","a2","a3","a4","a5","a6","a7","a8"]}'
wrk.headers["Content-Type"] = "application/json"
"""


def seed(database_url: str) -> None:
    from flask_migrate import upgrade

    from discuss import create_app
    from discuss.extensions import db
    from discuss.models import AuthorKind, Comment, CommentStatus, Site, Thread, User
    from discuss.sanitize import html_to_text, render_markdown
    from discuss.models.queries import touch_thread

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SCORER_ENABLED": False})
    with app.app_context():
        upgrade()
        site = Site(slug="bench", name="Bench", allowed_origins=["http://127.0.0.1"], settings={})
        db.session.add(site)
        db.session.flush()
        authors = [User(kind=AuthorKind.GUEST, display_name=f"Reader {i}") for i in range(40)]
        db.session.add_all(authors)
        db.session.flush()
        body = ("I read the whole piece and the **budget figures** don't add up: the council "
                "said one thing in March and another in June. See [the minutes](https://example.com/m).")
        html = render_markdown(body)
        for article, roots, replies in (("t200", 50, 3), ("t2000", 200, 9)):
            thread = Thread(site_id=site.id, article_id=article, title=f"Thread {article}",
                            url=f"http://127.0.0.1/{article}")
            db.session.add(thread)
            db.session.flush()
            for r in range(roots):
                root = Comment(thread_id=thread.id, author_id=authors[r % 40].id, author_name=authors[r % 40].display_name,
                               body_markdown=body, body_html=html, body_text=html_to_text(html),
                               status=CommentStatus.PUBLISHED, depth=0, likes=r % 7)
                db.session.add(root)
                db.session.flush()
                root.root_id = root.id
                parent = root
                for k in range(replies):
                    reply = Comment(thread_id=thread.id, author_id=authors[(r + k + 1) % 40].id,
                                    author_name=authors[(r + k + 1) % 40].display_name, body_markdown=body,
                                    body_html=html, body_text=html_to_text(html), status=CommentStatus.PUBLISHED,
                                    parent_id=parent.id, root_id=root.id, depth=min(parent.depth + 1, 3))
                    db.session.add(reply)
                    db.session.flush()
                    parent = reply if reply.depth < 3 else parent
            touch_thread(thread.id)
        db.session.commit()


def server_env(database_url: str, secret: str, **extra: str) -> dict[str, str]:
    """The environment a bench's gunicorn runs with: its own database, no model, no mail, and no
    inherited Prometheus directory (gunicorn.conf.py makes a fresh one)."""
    env = {**os.environ, "DISCUSS_DATABASE_URL": database_url, "DISCUSS_SCORER_ENABLED": "0",
           "DISCUSS_SECRET_KEY": secret, "DISCUSS_MAIL_ENABLED": "0", **extra}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer at {url}")


def parse_wrk(output: str) -> dict[str, float]:
    def ms(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = ms(re.search(r"\s50%\s+(\S+)", output).group(1))
    p99 = ms(re.search(r"\s99%\s+(\S+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "non_2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else ""}


def run_wrk(url: str, seconds: int, connections: int, script: str | None = None) -> dict[str, float]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        cmd[1:1] = ["-s", script]
    return parse_wrk(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y --no-upgrade wrk")

    workdir = tempfile.mkdtemp(prefix="discuss-bench-")
    database_url = f"sqlite:///{workdir}/bench.db"
    seed(database_url)
    port = free_port()
    env = {**os.environ, "DISCUSS_DATABASE_URL": database_url, "DISCUSS_SCORER_ENABLED": "0",
           "DISCUSS_RATELIMIT_ENABLED": "0", "DISCUSS_SECRET_KEY": "bench"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(f"{base}/healthz")
        lua = os.path.join(workdir, "counts.lua")
        with open(lua, "w") as fh:
            fh.write(COUNTS_LUA)
        cases = [("thread, 200 comments", f"{base}/api/v1/comments?site=bench&article=t200&limit=200", None),
                 ("thread, 2,000 comments", f"{base}/api/v1/comments?site=bench&article=t2000&limit=200", None),
                 ("counts, 10 articles", f"{base}/api/v1/counts", lua)]
        print(f"gunicorn {args.workers} sync workers, wrk 2 threads, {args.connections} connections, "
              f"{args.seconds} s per case, SQLite\n")
        print(f"{'case':26} {'comments':>9} {'bytes':>9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
        for name, url, script in cases:
            if script is None:
                body = urllib.request.urlopen(url).read()
                size = len(body)
                shown = _count(json.loads(body)["comments"])
            else:
                size, shown = 0, 0
            result = run_wrk(url, args.seconds, args.connections, script)
            print(f"{name:26} {shown:>9} {size:>9} {result['rps']:>9.0f} {result['p50_ms']:>8.2f} "
                  f"{result['p99_ms']:>8.2f} {result['non_2xx']:>8} {result['socket_errors']}")
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def _count(nodes) -> int:
    return sum(1 + _count(n["replies"]) for n in nodes)


if __name__ == "__main__":
    main()
