"""The one job runner: scoring, mail and webhooks run here, outside the request.

A job is a plain module-level function with plain arguments, passed as the function itself
(RQ records its import path). Two ways to run one:

- ``enqueue(func, ...)`` puts it on the RQ queue in Redis that ``flask discuss worker``
  consumes. Scoring in queue mode uses this: the comment is committed as pending (reason
  ``scoring_queued``) *before* it is enqueued, so a Redis outage never loses it; a worker's
  sweeper (moderation/sweeper.py) routes it once Redis or a worker is back.
- ``run_later(func, ...)`` runs it after the response on the queue, in a thread, or inline,
  as config MAIL_DELIVERY says ("auto": the queue when SCORING=queue and REDIS_URL are set,
  else a background thread). Mail uses this.
"""
from __future__ import annotations

import functools
import signal
import threading
from typing import Any, Callable

from flask import Flask, current_app

from discuss.extensions import db

# The queue kept the name it had when only scoring used it, so workers and jobs already in
# Redis carry over an upgrade.
QUEUE_NAME = "discuss-scoring"
FAILED_JOB_TTL = 7 * 86400

Job = Callable[..., Any]


def queue():
    from redis import Redis
    from rq import Queue

    url = current_app.config.get("REDIS_URL")
    if not url:
        raise RuntimeError("DISCUSS_SCORING=queue needs DISCUSS_REDIS_URL")
    return Queue(QUEUE_NAME, connection=Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2))


def job_name(func: Job) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def enqueue(func: Job, *args: Any, timeout: int = 120, retry_after: tuple[int, ...] = (10, 60, 300)) -> bool:
    """Put ``func(*args)`` on the Redis queue. False (and logged) when Redis is unreachable:
    the caller decides what waits instead."""
    from rq import Retry

    try:
        queue().enqueue(func, *args, job_timeout=timeout, failure_ttl=FAILED_JOB_TTL,
                        retry=Retry(max=len(retry_after), interval=list(retry_after)))
        return True
    except Exception as exc:
        current_app.logger.error("could not enqueue %s%r: %s", job_name(func), args, exc)
        return False


def delivery_mode() -> str:
    config = current_app.config
    mode = config.get("MAIL_DELIVERY", "auto")
    if mode == "auto":
        return "queue" if config.get("REDIS_URL") and config.get("SCORING") == "queue" else "thread"
    return mode


def run_later(func: Job, *args: Any) -> str:
    """Run ``func(*args)`` after the response. Returns the path used: queue, thread or inline."""
    mode = delivery_mode()
    if mode == "queue" and enqueue(func, *args):
        return "queue"
    if mode == "inline":
        func(*args)
        return "inline"
    # "thread", or the queue is down: a thread still gets the job done.
    app = current_app._get_current_object()
    worker = threading.Thread(target=_run_in_app, args=(app, func, args), daemon=True,
                              name=f"discuss-job:{func.__name__}")
    worker.start()
    return "thread"


def _run_in_app(app: Flask, func: Job, args: tuple) -> None:
    with app.app_context():
        try:
            func(*args)
        except Exception:
            app.logger.exception("job %s%r failed", job_name(func), args)
        finally:
            db.session.remove()


def run_worker(burst: bool = False, maintenance_seconds: int = 60) -> None:
    """Blocking worker loop, inside the app context of `flask discuss worker`. SimpleWorker
    (no fork per job) keeps the loaded model in memory. The scheduler moves jobs whose retry
    interval has passed (webhook backoff, mail and scoring retries) back onto the queue.

    It outlives a Redis outage: RQ's own loop quits on some Redis errors ("unhandled exception,
    quitting"), so it is started again here after a pause that grows to 30 s. It returns only
    when it was asked to stop (SIGTERM/SIGINT) or, with ``burst``, when the queue is empty.
    Maintenance (which hands jobs of a killed worker back to the queue once their time is up)
    runs every ``maintenance_seconds`` instead of RQ's 10 minutes."""
    from redis.exceptions import RedisError
    from rq.exceptions import StopRequested

    _STOP.clear()
    pause = 1.0
    while not _STOP.is_set():
        worker = None
        try:
            jobs = queue()
            worker = _worker_class()([jobs], connection=jobs.connection, maintenance_interval=maintenance_seconds)
            worker.work(burst=burst, with_scheduler=True)
            if burst or _STOP.is_set():
                return
            current_app.logger.error("job worker stopped on its own (Redis away?); starting it again in %.0f s",
                                     pause)
        except StopRequested:
            return
        except RedisError as exc:
            current_app.logger.error("job worker lost Redis (%s); starting it again in %.0f s", exc, pause)
        finally:
            _stop_scheduler(worker)  # a scheduler process left running would keep the worker from exiting
        if threading.current_thread() is threading.main_thread():  # RQ's handlers belong to the dead worker
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: _STOP.set())
        _STOP.wait(pause)
        pause = min(pause * 2, 30.0)


# Set by SIGTERM/SIGINT: the worker loop ends instead of starting RQ's worker again.
_STOP = threading.Event()


def _stop_scheduler(worker) -> None:
    scheduler = getattr(worker, "scheduler", None)
    process = getattr(scheduler, "_process", None)
    if process is not None and process.is_alive():
        process.terminate()


@functools.cache
def _worker_class():
    from rq import SimpleWorker

    class SessionPerJobWorker(SimpleWorker):
        """Every job starts and ends with a fresh database session. A job that failed mid-
        transaction (the database restarted) would otherwise leave the shared session needing a
        rollback, and every later job would fail with PendingRollbackError."""

        def request_stop(self, signum, frame):
            _STOP.set()
            return super().request_stop(signum, frame)

        def execute_job(self, job, queue):
            db.session.remove()
            try:
                return super().execute_job(job, queue)
            finally:
                try:
                    db.session.remove()
                except Exception:  # noqa: BLE001 - a dead connection is discarded by the pool
                    current_app.logger.warning("could not close the job's database session", exc_info=True)

    return SessionPerJobWorker

