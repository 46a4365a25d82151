"""Faults with real processes (issue 19): Redis killed under a running worker, a worker killed
with SIGKILL mid-job, PostgreSQL restarted under load with gunicorn and a worker running, a
gunicorn worker killed mid-post, and SIGTERM under load.

Each test starts its own Redis / PostgreSQL / gunicorn / worker on ports 8600-8699 and stops
them; the machine's Redis and PostgreSQL are never restarted. The time every accepted comment
takes to be routed here is bounded by the sweeper's interval (1 s in these tests; 30 s by
default, README: Faults and self-healing)."""
from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time

import pytest
from sqlalchemy import select, text

from discuss.extensions import db
from discuss.models import Comment, CommentStatus
from discuss.moderation.policy import AWAITING_SCORE_REASONS, SCORING_QUEUED
from tests.conftest import PG_URL
from tests.factories import make_site
from tests.support.api import DEFAULT_POST, post_comment
from tests.support.processes import (PrivatePostgres, PrivateRedis, app_env, http, model_env, start_gunicorn,
                                     start_worker, stop, wait_for, worker_pids)

pytestmark = pytest.mark.timeout(900)  # model loads take minutes on a busy 2-core machine
MODEL_READY_S = 400
ROUTE_WITHIN_S = 60  # generous for a loaded CI machine; the sweeper runs every second here


def _routed(comment_id: int) -> bool:
    comment = db.session.get(Comment, comment_id)
    routed = comment is not None and not (comment.status is CommentStatus.PENDING
                                          and any(r in AWAITING_SCORE_REASONS for r in comment.reasons))
    db.session.remove()
    return routed


def _healthz_scorer(client) -> str:
    return client.get("/healthz").get_json()["scorer"]["state"]


# -- queue mode heals itself --------------------------------------------------------------------

def test_worker_outlives_a_redis_outage_and_routes_what_was_posted_meanwhile(make_app, tiny_detoxify, tmp_path):
    redis = PrivateRedis(8610).start()
    web = make_app(SCORER=None, SCORER_ENABLED=False, SCORING="queue", REDIS_URL=redis.url)
    worker = None
    try:
        with web.app_context():
            make_site(toxicity_nudge=False)
            db.session.remove()
            client = web.test_client()
            assert _healthz_scorer(client) == "no_workers"
            env = app_env(web.config["SQLALCHEMY_DATABASE_URI"], DISCUSS_REDIS_URL=redis.url,
                          DISCUSS_SCORING="queue", DISCUSS_SWEEP_SECONDS="1", **model_env(tiny_detoxify))
            worker = start_worker(env, str(tmp_path / "worker.log"))
            # Queue mode tells the truth: the worker's model state reaches the web process's /healthz.
            wait_for(lambda: _healthz_scorer(client) == "ready", MODEL_READY_S, what="the worker to publish 'ready'")

            before = post_comment(client, "Scored by the worker through the queue.").get_json()["comment"]["id"]
            wait_for(lambda: _routed(before), ROUTE_WITHIN_S, what="the queued comment to be routed")

            redis.kill()
            during = post_comment(client, "Posted while Redis was down.")
            assert during.status_code == 202
            during_id = during.get_json()["comment"]["id"]
            assert db.session.get(Comment, during_id).reasons == [SCORING_QUEUED]
            db.session.remove()
            assert _healthz_scorer(client) == "unknown"
            time.sleep(3)
            assert worker.poll() is None, "the worker died with Redis"

            redis.start()  # an empty Redis: the comment posted meanwhile was never enqueued
            wait_for(lambda: _routed(during_id), ROUTE_WITHIN_S, what="the sweeper to route the comment")
            after = post_comment(client, "Posted after Redis came back.").get_json()["comment"]["id"]
            wait_for(lambda: _routed(after), ROUTE_WITHIN_S, what="a new job to run after the outage")
            wait_for(lambda: _healthz_scorer(client) == "ready", 30, what="the worker to publish again")
            assert worker.poll() is None
    finally:
        stop(worker)
        redis.kill()
    assert worker.returncode == 0, open(tmp_path / "worker.log").read()[-3000:]


class _RowLock:
    """Holds the comment (SQLite: the whole database) locked so a worker blocks mid-job."""

    def __init__(self, app, comment_id: int):
        self.uri = app.config["SQLALCHEMY_DATABASE_URI"]
        self.comment_id = comment_id

    def __enter__(self):
        if self.uri.startswith("sqlite"):
            self.conn = sqlite3.connect(self.uri.removeprefix("sqlite:///"), timeout=30, isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            self.conn = db.engine.connect()
            self.tx = self.conn.begin()
            self.conn.execute(text("SELECT id FROM comment WHERE id = :id FOR UPDATE"), {"id": self.comment_id})
        return self

    def __exit__(self, *exc):
        if self.uri.startswith("sqlite"):
            self.conn.execute("ROLLBACK")
        else:
            self.tx.rollback()
        self.conn.close()


def test_after_kill_9_of_a_worker_mid_job_the_comment_is_routed_once_a_worker_is_up(make_app, tiny_detoxify,
                                                                                     redis_url, tmp_path):
    from redis import Redis
    from rq import Queue
    from rq.registry import StartedJobRegistry

    from discuss.jobs.runner import QUEUE_NAME
    from discuss.moderation.rescoring import score_and_route

    web = make_app(SCORER=None, SCORER_ENABLED=False, SCORING="queue", REDIS_URL="redis://127.0.0.1:8698/0")
    env = app_env(web.config["SQLALCHEMY_DATABASE_URI"], DISCUSS_REDIS_URL=redis_url, DISCUSS_SCORING="queue",
                  DISCUSS_SWEEP_SECONDS="1", **model_env(tiny_detoxify))
    connection = Redis.from_url(redis_url)
    first = second = None
    try:
        with web.app_context():
            make_site(toxicity_nudge=False)
            first = start_worker(env, str(tmp_path / "worker-1.log"))
            wait_for(lambda: connection.keys("discuss:scorer-state:*"), MODEL_READY_S, what="worker 1 to be ready")
            comment_id = post_comment(web.test_client(), "Scored by a worker that dies.").get_json()["comment"]["id"]
            db.session.remove()
            with _RowLock(web, comment_id):
                Queue(QUEUE_NAME, connection=connection).enqueue(score_and_route, comment_id, job_timeout=300)
                wait_for(lambda: StartedJobRegistry(QUEUE_NAME, connection=connection).get_job_ids(), 60,
                         what="worker 1 to start the job")
                time.sleep(1)  # it is blocked on the lock, mid-job
                os.killpg(first.pid, signal.SIGKILL)  # the worker and its scheduler, as systemd's kill does
                first.wait(10)
            assert not _routed(comment_id)
            second = start_worker(env, str(tmp_path / "worker-2.log"))
            wait_for(lambda: _routed(comment_id), MODEL_READY_S + ROUTE_WITHIN_S, what="worker 2 to route the comment")
            events = db.session.execute(text("SELECT count(*) FROM moderation_event WHERE comment_id = :id "
                                             "AND action = 'rescore'"), {"id": comment_id}).scalar()
            assert events == 1
            db.session.remove()
    finally:
        stop(first, signal.SIGKILL)
        stop(second)


# -- PostgreSQL restarted under load --------------------------------------------------------------

def _payload(i: int) -> dict:
    return {**DEFAULT_POST, "body": f"Load comment {i}: the budget vote, seen from ward {i % 17}.",
            "author_name": f"Reader {i}"}


@pytest.mark.skipif(not PrivatePostgres.available(), reason="needs PostgreSQL's server binaries (pg_ctl)")
@pytest.mark.skipif(bool(PG_URL), reason="runs its own PostgreSQL cluster: once, in the SQLite pass, is enough")
def test_postgres_restart_under_load_answers_503_loses_nothing_and_recovers_without_restart(tiny_detoxify,
                                                                                            redis_url, tmp_path):
    from discuss import create_app
    from flask_migrate import upgrade

    pg = PrivatePostgres(8620).init()
    gunicorn = worker = None
    try:
        env = app_env(pg.url, DISCUSS_REDIS_URL=redis_url, DISCUSS_SCORING="queue", DISCUSS_SWEEP_SECONDS="1",
                      **model_env(tiny_detoxify))
        app = create_app({"SQLALCHEMY_DATABASE_URI": pg.url, "SECRET_KEY": "test-secret", "SCORER_ENABLED": False,
                          "SCORING": "queue", "REDIS_URL": redis_url})
        with app.app_context():
            upgrade()
            make_site(toxicity_nudge=False)
            db.session.remove()
        gunicorn = start_gunicorn(env, 8621, str(tmp_path / "gunicorn.log"))
        worker = start_worker(env, str(tmp_path / "worker.log"))
        wait_for(lambda: http("GET", 8621, "/healthz")[1]["scorer"]["state"] == "ready", MODEL_READY_S,
                 what="the worker's model")

        answers: list[tuple[int, dict | None]] = []
        stop_load = threading.Event()
        counter = iter(range(1_000_000))
        lock = threading.Lock()

        def load():
            while not stop_load.is_set():
                with lock:
                    i = next(counter)
                answers.append(http("POST", 8621, "/api/v1/comments", _payload(i), timeout=30))
                time.sleep(0.02)

        threads = [threading.Thread(target=load) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(3)
        pg.stop("fast")
        down_at = len(answers)
        time.sleep(4)
        pg.start()
        time.sleep(4)
        stop_load.set()
        for thread in threads:
            thread.join(60)

        statuses = [status for status, _ in answers]
        assert statuses.count(503) >= 1, statuses  # some posts met the database away
        assert set(statuses) <= {201, 202, 503}, [a for a in answers if a[0] not in (201, 202, 503)]
        for status, body in answers:
            if status == 503:
                assert body["error"]["code"] == "database_unavailable"
        accepted = [body["comment"]["id"] for status, body in answers if status in (201, 202)]
        assert len(accepted) > down_at / 2
        # Recovery without a restart: the same gunicorn and worker processes answer and route.
        assert http("GET", 8621, "/healthz")[0] == 200
        assert gunicorn.poll() is None and worker.poll() is None
        with app.app_context():
            def all_routed():
                rows = db.session.execute(select(Comment.id, Comment.status, Comment.reasons)
                                          .where(Comment.id.in_(accepted))).all()
                db.session.remove()
                assert len(rows) == len(accepted)  # every comment answered 201/202 is stored
                return all(not (s is CommentStatus.PENDING and any(r in AWAITING_SCORE_REASONS for r in reasons))
                           for _, s, reasons in rows)
            wait_for(all_routed, ROUTE_WITHIN_S, what="every accepted comment to be routed")
            db.engine.dispose()
        status, body = http("POST", 8621, "/api/v1/comments", _payload(999_999))
        assert status in (201, 202), body
    finally:
        stop(worker)
        stop(gunicorn)
        pg.destroy()


# -- gunicorn: a worker killed mid-post, SIGTERM under load ---------------------------------------

@pytest.fixture
def sqlite_server(make_app, tmp_path):
    """gunicorn (2 sync workers) on a SQLite file with a site; the test can lock the file to hold
    posts mid-request."""
    if PG_URL:
        pytest.skip("holds posts mid-request with SQLite's write lock")
    app = make_app()
    with app.app_context():
        make_site(toxicity_nudge=False)
        db.session.remove()
        db.engine.dispose()
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    env = app_env(app.config["SQLALCHEMY_DATABASE_URI"], DISCUSS_SCORER_ENABLED="0")
    log = tmp_path / "gunicorn.log"
    server = start_gunicorn(env, 8630, str(log), graceful_timeout=20)
    # Both workers have built the app (each logs this start-up warning once), so neither is still
    # loading when the test holds them mid-request.
    wait_for(lambda: log.read_text().count("DISCUSS_PUBLIC_URL is not set") >= 2, 300, what="both workers")
    yield server, path
    stop(server)


def _count(path: str, body: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM comment WHERE body_text LIKE ?", (body + "%",)).fetchone()[0]


def _write_lock(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_gunicorn_worker_killed_mid_post_is_replaced_and_a_retry_is_answered(sqlite_server):
    server, path = sqlite_server
    payload = {**DEFAULT_POST, "body": "Posted while its worker was killed.", "author_name": "Kim"}
    lock = _write_lock(path)
    result = {}
    poster = threading.Thread(target=lambda: result.update(answer=http("POST", 8630, "/api/v1/comments", payload,
                                                                       timeout=120)))
    poster.start()
    time.sleep(3)  # the post waits for the database lock, mid-request
    before = worker_pids(server.pid)
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    poster.join(60)
    lock.execute("ROLLBACK")
    lock.close()
    # The connection dropped: no response at all, never a false success, and nothing stored.
    assert result["answer"][0] == 0, result
    assert _count(path, payload["body"]) == 0
    wait_for(lambda: len(set(worker_pids(server.pid)) - set(before)) == 2, 60, what="gunicorn to replace workers")
    wait_for(lambda: http("GET", 8630, "/healthz", timeout=60)[0] == 200, 300, what="the new workers to serve")
    status, body = http("POST", 8630, "/api/v1/comments", payload, timeout=120)
    assert status in (201, 202), body
    assert _count(path, payload["body"]) == 1


def test_sigterm_under_load_lets_in_flight_posts_complete(sqlite_server):
    server, path = sqlite_server
    lock = _write_lock(path)
    answers = []
    posters = [threading.Thread(target=lambda i=i: answers.append(http(
        "POST", 8630, "/api/v1/comments", {**DEFAULT_POST, "body": f"In flight at shutdown {i}.",
                                           "author_name": f"Reader {i}"}, timeout=120))) for i in range(2)]
    for poster in posters:
        poster.start()
    time.sleep(1.5)  # both sync workers hold a post waiting for the lock
    server.send_signal(signal.SIGTERM)
    time.sleep(1)
    lock.execute("ROLLBACK")
    lock.close()
    for poster in posters:
        poster.join(120)
    assert sorted(status for status, _ in answers) == [201, 201], answers
    assert server.wait(30) == 0
    assert _count(path, "In flight at shutdown") == 2
