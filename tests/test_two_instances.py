"""Two instances behind one nginx (issue 19, "Two instances").

Two gunicorn instances (separate processes, each with its own in-process caches) serve one
PostgreSQL database and one Redis, behind a real nginx whose upstream holds both (round robin,
so consecutive requests alternate). nginx names the instance that answered in a header, so each
check knows which process wrote and which read:

- a comment written through one instance is in the next read through the other, even though
  both had the thread page cached;
- the rate limits are counted in Redis: the request over the limit is refused whichever
  instance gets it;
- a moderator's action through one instance is seen through the other.

Runs in the PostgreSQL pass of .ci/run (DISCUSS_TEST_DATABASE_URL names the server; this test
makes its own database beside the suite's). Skipped, saying why, without PostgreSQL, Redis or
nginx (.ci/run installs nginx).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG_URL = os.environ.get("DISCUSS_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("DISCUSS_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
# Loopback ports for the two instances and nginx (override where they are taken).
BASE_PORT = int(os.environ.get("DISCUSS_TEST_TWO_INSTANCES_PORT", "8410"))
PER_AUTHOR_LIMIT = 3
SECRET_KEY = "two-instances-test-secret"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)

NGINX_CONF = """daemon off; worker_processes 1; pid {dir}/nginx.pid; error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  upstream discuss {{ server 127.0.0.1:{a}; server 127.0.0.1:{b}; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://discuss;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      add_header X-Upstream $upstream_addr always;
    }}
  }}
}}
"""


def _skip_reason() -> str | None:
    if not PG_URL.startswith("postgresql"):
        return "needs PostgreSQL: set DISCUSS_TEST_DATABASE_URL (the PostgreSQL pass of .ci/run does)"
    if NGINX is None:
        return "needs nginx (apt-get install -y --no-upgrade nginx; .ci/run installs it)"
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means: no Redis to test with
        return f"needs Redis at {REDIS_URL}: {exc}"
    return None


pytestmark = [pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or ""),
              pytest.mark.timeout(300)]


def _own_database_url() -> str:
    """A database of this test's own on the suite's PostgreSQL server, created empty."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(PG_URL)
    name = f"{url.database or 'discuss'}_two_instances"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def _seed(database_url: str) -> str:
    """Schema through the migrations, one site, and a site API token for the moderator."""
    from flask_migrate import upgrade

    from discuss import create_app
    from discuss.extensions import db
    from discuss.identity.staff import issue_api_token
    from discuss.models import Site

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET_KEY, "SCORER_ENABLED": False,
                      "MAIL_ENABLED": False})
    with app.app_context():
        upgrade()
        site = Site(slug="news", name="News", allowed_origins=["https://news.example.com"], settings={})
        db.session.add(site)
        db.session.commit()
        token = issue_api_token(site)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return token


def _wait_up(url: str, proc: subprocess.Popen, log: str, seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited: {open(log).read()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer: {open(log).read()[-2000:]}")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


class Cluster:
    def __init__(self, port: int, instances: list[str], api_token: str):
        self.base = f"http://127.0.0.1:{port}"
        self.instances = instances  # "127.0.0.1:PORT" of each gunicorn, as nginx reports it
        self.api_token = api_token

    def call(self, method: str, path: str, payload: dict | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict, str]:
        """(status, JSON body, the instance that answered)."""
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}"), response.headers["X-Upstream"]
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}"), error.headers["X-Upstream"]

    def post(self, article: str, body: str, name: str | None = None, **fields) -> tuple[int, dict, str]:
        """A guest post; a new name each time unless given (the per-author limit is per name)."""
        return self.call("POST", "/api/v1/comments", {
            "site": "news", "article": article, "body": body, "author_name": name or f"Reader {uuid.uuid4().hex[:6]}",
            "article_title": "A story", **fields})

    def read(self, article: str) -> tuple[int, dict, str]:
        return self.call("GET", f"/api/v1/comments?site=news&article={article}")

    def moderate(self, path: str, payload: dict) -> tuple[int, dict, str]:
        return self.call("POST", "/api/v1/moderation" + path, payload,
                         headers={"Authorization": f"Bearer {self.api_token}"})

    def other(self, instance: str) -> str:
        (other,) = [i for i in self.instances if i != instance]
        return other


@pytest.fixture(scope="module")
def cluster():
    ports = [BASE_PORT, BASE_PORT + 1, BASE_PORT + 2]
    if not all(_port_free(p) for p in ports):
        pytest.skip(f"ports {ports} are taken (set DISCUSS_TEST_TWO_INSTANCES_PORT)")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()  # rate-limit counters from earlier runs
    database_url = _own_database_url()
    api_token = _seed(database_url)
    workdir = tempfile.mkdtemp(prefix="discuss-two-instances-")
    os.chmod(workdir, 0o755)
    procs: list[subprocess.Popen] = []
    try:
        for n, port in enumerate(ports[:2]):
            metrics_dir = os.path.join(workdir, f"metrics-{n}")
            os.makedirs(metrics_dir)
            env = {**os.environ, "DISCUSS_DATABASE_URL": database_url, "DISCUSS_REDIS_URL": REDIS_URL,
                   "DISCUSS_SECRET_KEY": SECRET_KEY, "DISCUSS_PROXY_HOPS": "1", "DISCUSS_SCORER_ENABLED": "0",
                   "DISCUSS_MAIL_ENABLED": "0", "DISCUSS_RATELIMIT_ENABLED": "1",
                   "DISCUSS_RATE_LIMIT_POST_PER_IP": "1000/minute",
                   "DISCUSS_RATE_LIMIT_POST_PER_AUTHOR": f"{PER_AUTHOR_LIMIT}/minute",
                   "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
            log = os.path.join(workdir, f"instance-{n}.log")
            proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                                     "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env,
                                    stdout=open(log, "w"), stderr=subprocess.STDOUT)
            procs.append(proc)
            _wait_up(f"http://127.0.0.1:{port}/healthz", proc, log)
        conf = os.path.join(workdir, "nginx.conf")
        with open(conf, "w") as fh:
            fh.write(NGINX_CONF.format(dir=workdir, a=ports[0], b=ports[1], port=ports[2]))
        nginx_log = os.path.join(workdir, "error.log")
        open(nginx_log, "w").close()
        nginx = subprocess.Popen([NGINX, "-p", workdir, "-c", conf], stderr=subprocess.STDOUT,
                                 stdout=subprocess.DEVNULL)
        procs.append(nginx)
        _wait_up(f"http://127.0.0.1:{ports[2]}/healthz", nginx, nginx_log)
        yield Cluster(ports[2], [f"127.0.0.1:{p}" for p in ports[:2]], api_token)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def _article() -> str:
    return f"story-{uuid.uuid4().hex[:8]}"


def _read_through(cluster: Cluster, instance: str, article: str) -> dict:
    """The next read nginx sends to ``instance`` (round robin: at most a couple of requests)."""
    for _ in range(4):
        status, body, served_by = cluster.read(article)
        assert status == 200
        if served_by == instance:
            return body
    raise AssertionError(f"nginx never sent a read to {instance}")


def _warm_both(cluster: Cluster, article: str) -> None:
    """Each instance reads (and caches) the thread page before the change."""
    for instance in cluster.instances:
        _read_through(cluster, instance, article)


def test_comment_written_through_one_instance_is_in_the_next_read_through_the_other(cluster):
    article = _article()
    assert cluster.post(article, "The first comment.")[0] == 201
    _warm_both(cluster, article)
    status, posted, writer = cluster.post(article, "Written through one instance.")
    assert status == 201
    status, page, reader = cluster.read(article)  # round robin: the very next request
    assert status == 200 and reader == cluster.other(writer)
    assert posted["comment"]["id"] in [c["id"] for c in page["comments"]]
    assert page["thread"]["published_count"] == 2
    # The author token one instance issued works on the other (one shared secret key).
    token = posted["author_token"]
    for _ in range(2):  # one edit lands on each instance
        status, edited, _ = cluster.call("PATCH", f"/api/v1/comments/{posted['comment']['id']}",
                                         {"body": "Edited on either instance."},
                                         headers={"Authorization": f"Bearer {token}"})
        assert status == 200 and edited["comment"]["body_markdown"] == "Edited on either instance."


def test_rate_limit_is_shared_so_the_request_over_it_is_refused_by_either_instance(cluster):
    article, name = _article(), f"Busy {uuid.uuid4().hex[:6]}"
    accepted = [cluster.post(article, f"Within the limit, {n}.", name=name) for n in range(PER_AUTHOR_LIMIT)]
    assert [status for status, _, _ in accepted] == [201] * PER_AUTHOR_LIMIT
    assert {served_by for _, _, served_by in accepted} == set(cluster.instances)  # both counted
    refused = [cluster.post(article, f"Over the limit, {n}.", name=name) for n in range(2)]
    assert [status for status, _, _ in refused] == [429, 429]
    assert {served_by for _, _, served_by in refused} == set(cluster.instances)  # both refuse
    # Another author from the same address is not affected: the limit is the author's.
    assert cluster.post(article, "Someone else.", name=f"Calm {uuid.uuid4().hex[:6]}")[0] == 201


def test_moderator_action_through_one_instance_is_seen_through_the_other(cluster):
    article = _article()
    status, posted, _ = cluster.post(article, "A comment a moderator will remove.")
    assert status == 201
    comment_id = posted["comment"]["id"]
    _warm_both(cluster, article)
    status, _, moderator_on = cluster.moderate(f"/comments/{comment_id}/actions",
                                               {"action": "remove", "reason": "off_topic"})
    assert status == 200
    page = _read_through(cluster, cluster.other(moderator_on), article)
    assert page["thread"]["published_count"] == 0
    assert all(c["status"] != "published" for c in page["comments"])
    # Closing the thread through one instance closes it for posts through the other.
    status, closed, moderator_on = cluster.moderate(f"/threads/{_thread_id(cluster, comment_id)}/actions",
                                                    {"action": "close"})
    assert status == 200, closed
    for _ in range(2):  # one post lands on each instance
        status, refused, _ = cluster.post(article, f"Too late {uuid.uuid4().hex[:4]}.")
        assert status == 403 and refused["error"]["code"] == "thread_closed"


def _thread_id(cluster: Cluster, comment_id: int) -> int:
    status, body, _ = cluster.call("GET", f"/api/v1/moderation/comments/{comment_id}",
                                   headers={"Authorization": f"Bearer {cluster.api_token}"})
    assert status == 200, body
    return body["comment"]["thread"]["id"]
