"""Scale-out scoring on RQ workers (Redis): the web process stores, a worker scores and routes.

A comment is committed as pending (reason ``scoring_queued``) *before* it is enqueued, so
a Redis outage never loses it: ``flask discuss rescore`` or the next worker start picks it up.
"""
from __future__ import annotations

from flask import current_app

QUEUE_NAME = "discuss-scoring"


def _queue():
    from redis import Redis
    from rq import Queue

    url = current_app.config.get("REDIS_URL")
    if not url:
        raise RuntimeError("DISCUSS_SCORING=queue needs DISCUSS_REDIS_URL")
    return Queue(QUEUE_NAME, connection=Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2))


def enqueue_scoring(comment_id: int) -> bool:
    from rq import Retry

    try:
        _queue().enqueue("discuss.services.scoring_queue.score_comment_job", comment_id,
                         job_timeout=300, retry=Retry(max=3, interval=[5, 30, 120]), failure_ttl=7 * 86400)
        return True
    except Exception as exc:  # stored already; rescoring will pick it up
        current_app.logger.error("could not enqueue scoring for comment %s: %s", comment_id, exc)
        return False


def score_comment_job(comment_id: int) -> str:
    """Runs on a worker, inside the app context the worker command pushed."""
    from discuss.services.rescoring import score_and_route

    return score_and_route(comment_id)


def run_worker(burst: bool = False) -> None:
    """Blocking worker loop. SimpleWorker (no fork per job) keeps the loaded model in memory."""
    from rq import SimpleWorker

    queue = _queue()
    SimpleWorker([queue], connection=queue.connection).work(burst=burst, with_scheduler=False)
