"""Faults, in process (issue 19): the database away or full, a job that breaks its session, the
sweeper that routes comments left waiting, and queue mode's /healthz telling the truth.

The scenarios with real processes (PostgreSQL restarts, Redis outages, killed workers, gunicorn)
are in test_faults_processes.py."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, func, select, text

from discuss.extensions import db
from discuss.jobs import scorer_state
from discuss.models import Comment, CommentStatus, ModerationEvent
from discuss.moderation.policy import SCORING_QUEUED, SCORING_UNAVAILABLE
from discuss.moderation.sweeper import Sweeper
from discuss.storage import WRITE_HEALTH
from tests.conftest import PG_URL
from tests.factories import make_site
from tests.support.api import post_comment, read_thread
from tests.support.scorers import FakeScorer

UNREACHABLE_PG = "postgresql://postgres@127.0.0.1:8699/nothing_listens_here"


@pytest.fixture(autouse=True)
def _clear_write_health():
    WRITE_HEALTH.recovered()
    yield
    WRITE_HEALTH.recovered()


def _counts():
    return (db.session.scalar(select(func.count(Comment.id))),
            db.session.scalar(select(func.count(ModerationEvent.id))))


# -- the database away ----------------------------------------------------------------------------

def test_database_away_answers_503_in_the_error_shape_not_500(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI=UNREACHABLE_PG)
    client = app.test_client()
    for response in (post_comment(client, "Posted while the database restarts"), read_thread(client)):
        assert response.status_code == 503, response.data
        error = response.get_json()["error"]
        assert error["code"] == "database_unavailable" and error["reason"] == "unreachable"
        assert "try again" in error["message"]
        assert response.headers["Retry-After"]
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json()["status"] == "degraded" and health.get_json()["database"].startswith("error")


def test_database_away_on_a_page_answers_503_text_not_a_json_body(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI=UNREACHABLE_PG)
    response = app.test_client().get("/embed/thread?site=news&article=article-1", headers={"Accept": "text/html"})
    assert response.status_code == 503
    assert b"not available right now" in response.data


def test_a_database_bug_is_still_a_server_error_not_disguised_as_an_outage(app, site):
    @app.get("/test-only/bad-sql")
    def bad_sql():
        db.session.execute(text("SELECT * FROM no_such_table_here"))

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/test-only/bad-sql")
    assert response.status_code == 500  # a wrong query is a bug to fix, not a retryable 503
    assert WRITE_HEALTH.failure is None


# -- disk full: SQLite's max_page_count stands in for a full disk ----------------------------------

@pytest.mark.skipif(bool(PG_URL), reason="simulates a full disk with SQLite's max_page_count")
def test_disk_full_answers_503_writes_nothing_degrades_health_and_recovers(app, client, site):
    post_comment(client, "Written before the disk filled up")
    limit = {"pages": None}

    @event.listens_for(db.engine, "connect")
    def _cap(dbapi_connection, _record):
        if limit["pages"] is not None:
            dbapi_connection.execute(f"PRAGMA max_page_count={limit['pages']}")

    db.session.remove()
    db.engine.dispose()
    limit["pages"] = db.session.execute(text("PRAGMA page_count")).scalar()
    db.session.remove()
    db.engine.dispose()
    before = _counts()

    bodies = [f"Comment number {i} while the disk is full. " + "padding " * 400 for i in range(12)]
    answers = [post_comment(client, body, name=f"Reader {i}") for i, body in enumerate(bodies)]
    refused = [a for a in answers if a.status_code == 503]
    assert refused, [a.status_code for a in answers]
    assert all(a.status_code in (201, 202, 503) for a in answers)
    for answer in refused:
        assert answer.get_json()["error"] == {**answer.get_json()["error"], "code": "database_unavailable",
                                              "reason": "refusing_writes"}
    stored = sum(1 for a in answers if a.status_code in (201, 202))
    comments, events = _counts()
    # Nothing half-written: every refused post left no comment and no audit event behind.
    assert comments == before[0] + stored and events == before[1] + stored

    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json()["writes"].startswith("failing: refusing_writes")

    limit["pages"] = None  # space comes back
    db.session.remove()
    db.engine.dispose()
    assert post_comment(client, "Written after space came back").status_code in (201, 202)
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["writes"] == "ok"


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's query_only stands in for a read-only database")
def test_read_only_database_shows_in_healthz_before_any_write_fails(app, client, site):
    @event.listens_for(db.engine, "connect")
    def _read_only(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA query_only=1")

    db.session.remove()
    db.engine.dispose()
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["writes"] == "failing: the database is read-only"
    response = post_comment(client, "Refused by a read-only database")
    assert response.status_code == 503 and response.get_json()["error"]["reason"] == "refusing_writes"


# -- the sweeper ------------------------------------------------------------------------------------

@pytest.fixture
def slow_scorer():
    return FakeScorer(delay=0.5)


@pytest.fixture
def timed_out_app(make_app, slow_scorer):
    app = make_app(SCORER=slow_scorer, SCORING_TIMEOUT_MS=50)
    with app.app_context():
        yield app


def _post_timed_out(app, bodies):
    client = app.test_client()
    ids = []
    for body in bodies:
        response = post_comment(client, body, name="Slow")
        assert response.status_code == 202
        ids.append(response.get_json()["comment"]["id"])
    for comment_id in ids:
        assert db.session.get(Comment, comment_id).reasons == [SCORING_UNAVAILABLE]
    db.session.remove()
    return ids


def test_sweeper_routes_timed_out_comments_while_the_model_stays_ready(timed_out_app, slow_scorer):
    make_site(toxicity_nudge=False)
    fine, insult = _post_timed_out(timed_out_app, ["A calm remark about the budget.", "You idiot."])
    slow_scorer.delay = 0.0
    sweeper = Sweeper(timed_out_app, interval_seconds=0.2).start()
    try:
        for _ in range(300):
            waiting = [SCORING_UNAVAILABLE in db.session.get(Comment, i).reasons for i in (fine, insult)]
            db.session.remove()
            if not any(waiting):
                break
            threading.Event().wait(0.1)
    finally:
        sweeper.stop()
    assert db.session.get(Comment, fine).status is CommentStatus.PUBLISHED
    held = db.session.get(Comment, insult)
    assert held.status is CommentStatus.PENDING and SCORING_UNAVAILABLE not in held.reasons
    assert any(r.startswith("toxicity:") for r in held.reasons)


def test_sweeper_leaves_comments_younger_than_its_interval_to_the_job_in_flight(timed_out_app, slow_scorer):
    make_site(toxicity_nudge=False)
    (comment_id,) = _post_timed_out(timed_out_app, ["Just posted."])
    slow_scorer.delay = 0.0
    assert Sweeper(timed_out_app, interval_seconds=3600).run_once()["published"] == 0
    assert db.session.get(Comment, comment_id).status is CommentStatus.PENDING


def test_two_sweepers_at_once_route_each_comment_once(timed_out_app, slow_scorer):
    make_site(toxicity_nudge=False)
    ids = _post_timed_out(timed_out_app, [f"Comment {i} on the budget." for i in range(6)])
    slow_scorer.delay = 0.05
    results = []
    sweepers = [Sweeper(timed_out_app, interval_seconds=30) for _ in range(2)]
    threads = [threading.Thread(target=lambda s=s: results.append(s.run_once(min_age_seconds=0)))
               for s in sweepers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # A sweep that meets a locked database gives up for this round (the next one finishes).
    Sweeper(timed_out_app, interval_seconds=30).run_once(min_age_seconds=0)
    rescores = db.session.scalars(select(ModerationEvent.comment_id).where(ModerationEvent.action == "rescore"))
    assert sorted(rescores) == sorted(ids)  # every comment routed, and each exactly once
    assert all(db.session.get(Comment, i).status is CommentStatus.PUBLISHED for i in ids)
    # Idempotent: another round finds nothing left to do.
    assert sweepers[0].run_once(min_age_seconds=0) == {"published": 0, "pending": 0, "rejected": 0, "skipped": 0,
                                                        "failed": 0}


def test_sweeper_waits_while_the_model_is_not_ready(make_app):
    app = make_app(SCORER=None, SCORER_ENABLED=False)
    with app.app_context():
        assert Sweeper(app, interval_seconds=1).run_once(min_age_seconds=0) is None


# -- queue mode's /healthz --------------------------------------------------------------------------

def test_queue_mode_healthz_shows_the_scorer_state_workers_publish(make_app, redis_url):
    web = make_app(SCORER=None, SCORER_ENABLED=False, SCORING="queue", REDIS_URL=redis_url)
    client = web.test_client()
    scorer = client.get("/healthz").get_json()["scorer"]
    assert (scorer["state"], scorer["workers"], scorer["nudge"]) == ("no_workers", [], "inline only")

    worker = make_app(SCORING="queue", REDIS_URL=redis_url)  # a worker process, its model ready
    Sweeper(worker, interval_seconds=30, publish_state=True).publish()
    scorer = client.get("/healthz").get_json()["scorer"]
    assert scorer["state"] == "ready"
    assert [w["worker"] for w in scorer["workers"]] == [scorer_state.worker_id()]

    with worker.app_context():
        scorer_state.withdraw()  # a worker that stops takes its entry away (a dead one's expires)
    assert client.get("/healthz").get_json()["scorer"]["state"] == "no_workers"


def test_queue_mode_healthz_with_redis_away_says_unknown_not_loading(make_app):
    web = make_app(SCORER=None, SCORER_ENABLED=False, SCORING="queue", REDIS_URL="redis://127.0.0.1:8698/0")
    response = web.test_client().get("/healthz")
    assert response.status_code == 200  # comments still post and wait; the database is fine
    assert response.get_json()["scorer"]["state"] == "unknown"


def test_inline_healthz_still_reports_this_process_model(client):
    scorer = client.get("/healthz").get_json()["scorer"]
    assert scorer["state"] == "ready" and scorer["mode"] == "inline"


# -- a job that breaks its session does not break the next one ------------------------------------

def test_a_job_that_fails_mid_transaction_does_not_fail_the_jobs_after_it(make_app, redis_url):
    from rq import Queue
    from redis import Redis

    from discuss.jobs.runner import QUEUE_NAME, run_worker
    from tests.support import fault_jobs

    app = make_app(SCORING="queue", REDIS_URL=redis_url)
    with app.app_context():
        make_site()
        jobs = Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))
        broken = jobs.enqueue(fault_jobs.fail_mid_transaction)
        after = jobs.enqueue(fault_jobs.count_sites)
        run_worker(burst=True)
        assert broken.get_status(refresh=True) == "failed"
        assert after.get_status(refresh=True) == "finished", after.latest_result().exc_string
        assert after.return_value() == 1
        db.session.remove()


def test_queue_mode_comment_left_queued_by_a_redis_outage_is_routed_by_the_sweeper(make_app):
    app = make_app(SCORING="queue", REDIS_URL="redis://127.0.0.1:8698/0")  # nothing listens: enqueue fails
    with app.app_context():
        make_site(toxicity_nudge=False)
        response = post_comment(app.test_client(), "Posted while Redis was away")
        comment_id = response.get_json()["comment"]["id"]
        assert db.session.get(Comment, comment_id).reasons == [SCORING_QUEUED]
        db.session.remove()
        # A worker's sweeper (Redis still away: it sweeps anyway) routes it.
        result = Sweeper(app, interval_seconds=30).run_once(min_age_seconds=0)
        assert result["published"] == 1
        assert db.session.get(Comment, comment_id).status is CommentStatus.PUBLISHED


def test_a_failed_job_is_retried_by_the_scheduler_every_worker_runs(make_app, redis_url):
    from rq.job import Job
    from redis import Redis

    from discuss.jobs.runner import enqueue, queue, run_worker
    from tests.support import fault_jobs

    app = make_app(SCORING="queue", REDIS_URL=redis_url)
    with app.app_context():
        assert enqueue(fault_jobs.fail_first_time, redis_url, "faults:attempts", retry_after=(1,))
        (job_id,) = queue().get_job_ids()
        run_worker(burst=True)  # the first attempt fails: the retry waits in the scheduled registry
        job = Job.fetch(job_id, connection=Redis.from_url(redis_url))
        assert job.get_status(refresh=True) == "scheduled"
        threading.Event().wait(1.5)
        run_worker(burst=True)  # the worker's scheduler moves the due retry back onto the queue
        assert job.get_status(refresh=True) == "finished" and job.return_value() == "second attempt ran"
