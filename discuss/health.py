"""Liveness and readiness (/healthz), and Prometheus metrics (/metrics).

/metrics serves prometheus-client's text format. Counters and histograms come from
discuss.metrics (added up over every gunicorn worker in multiprocess mode); what is true "now"
is read when scraped: the pending queue's size and the age of its oldest comment, the scorer's
state and, for the process answering, its scoring queue depth, and the RQ job queue's length.
"""
from __future__ import annotations

import hmac
from datetime import datetime, timezone

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select, text

from discuss import metrics
from discuss.errors import error_response
from discuss.extensions import db
from discuss.jobs.mail import mail_status
from discuss.jobs.scorer_state import workers_status
from discuss.models import Comment, CommentStatus, utcnow
from discuss.models.totals import stored_total
from discuss.scoring import ScorerState
from discuss.scoring.runtime import ScoringService, get_scoring
from discuss.storage import WRITE_HEALTH

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    database, writes = _database_state()
    mail = mail_status()
    # The service is up as long as the database answers and takes writes; a loading or failed
    # scorer only means new comments wait in the moderation queue.
    status = 200 if database == "ok" and writes == "ok" else 503
    return jsonify({"status": "ok" if status == 200 else "degraded", "database": database, "writes": writes,
                    "scorer": _scorer_state(), "mail": mail}), status


def _database_state() -> tuple[str, str]:
    """("ok" or "error: ...", "ok" or "failing: ..."). Writes fail when the database is read-only
    (asked cheaply, no lock taken) or when a write in this process failed (disk full, read-only)
    and none has committed since."""
    try:
        if db.engine.dialect.name == "postgresql":
            read_only = db.session.execute(text("SHOW transaction_read_only")).scalar() == "on"
        else:
            read_only = bool(db.session.execute(text("PRAGMA query_only")).scalar())
        db.session.rollback()
    except Exception as exc:  # report, don't raise: health must answer
        db.session.remove()
        return f"error: {type(exc).__name__}", "unknown"
    if read_only:
        return "ok", "failing: the database is read-only"
    if WRITE_HEALTH.failure is not None:
        since = datetime.fromtimestamp(WRITE_HEALTH.since or 0, timezone.utc).isoformat(timespec="seconds")
        return "ok", f"failing: {WRITE_HEALTH.failure} since {since}"
    return "ok", "ok"


def _scorer_state() -> dict:
    """Inline: this process's model. Queue mode: what the workers publish to Redis (the web
    processes never load the model). The pre-submit nudge needs a score while the reader
    waits, so it works inline only."""
    config = current_app.config
    if config.get("SCORING") == "queue":
        if not config.get("REDIS_URL"):
            return {"state": "unknown", "mode": "queue", "error": "DISCUSS_REDIS_URL is not set", "workers": [],
                    "nudge": "inline only"}
        return {**workers_status(), "nudge": "inline only"}
    return {**get_scoring().status(), "mode": "inline"}


# -- /metrics -------------------------------------------------------------------------------------

@bp.get("/metrics")
def prometheus_metrics():
    config = current_app.config
    token = config.get("METRICS_TOKEN")
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        pass
    elif token and not config.get("METRICS_PUBLIC"):
        return error_response("unauthorized", "Send the metrics token: Authorization: Bearer <token>.", 401)
    elif not config.get("METRICS_PUBLIC"):
        return error_response("metrics_disabled", "Set DISCUSS_METRICS_TOKEN (or DISCUSS_METRICS_PUBLIC=1 "
                                                  "on a private network) to turn /metrics on.", 403)
    registry = CollectorRegistry()
    if config.get("METRICS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.MultiProcessCollector(registry, path=config["METRICS_MULTIPROC_DIR"])
    else:
        registry.register(_ThisProcess())
    registry.register(_NowCollector(current_app._get_current_object()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class _ThisProcess:
    """Single-process mode (dev server, tests): the default registry's samples."""

    def collect(self):
        return REGISTRY.collect()


class _NowCollector:
    def __init__(self, app):
        self.app = app

    def collect(self):
        # The stored totals: a scrape counts no queue (counting the pending queue took 405 ms for one
        # site at a million comments, issue 19).
        count = db.session.scalar(stored_total(CommentStatus.PENDING))
        oldest = db.session.scalar(select(func.min(Comment.created_at)).where(Comment.status == CommentStatus.PENDING))
        db.session.rollback()
        yield GaugeMetricFamily("discuss_pending_comments", "Comments waiting in the moderation queue.", value=count)
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=timezone.utc)
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("discuss_pending_oldest_age_seconds", "Age of the oldest pending comment.", value=age)
        scoring = get_scoring(self.app)
        state = GaugeMetricFamily("discuss_scorer_state", "1 for the scorer's current state (in the process "
                                  "answering the scrape; in queue mode, the workers' published state).",
                                  labels=["state"])
        current = _scorer_state()["state"] if self.app.config.get("SCORING") == "queue" else scoring.state.value
        for value in ScorerState:
            state.add_metric([value.value], 1.0 if current == value.value else 0.0)
        yield state
        yield GaugeMetricFamily("discuss_scorer_queue_depth", "Scoring requests waiting for the model "
                                "(in the process answering the scrape).", value=scoring.queue_depth)
        jobs = self._job_queue_depth()
        if jobs is not None:
            yield GaugeMetricFamily("discuss_job_queue_depth", "Jobs waiting on the RQ queue (scoring, mail, "
                                    "webhooks).", value=jobs)

    def _job_queue_depth(self) -> int | None:
        if not self.app.config.get("REDIS_URL"):
            return None
        try:
            from discuss.jobs.runner import queue
            return queue().count
        except Exception:  # noqa: BLE001 - Redis down: the metric is absent, the scrape still answers
            return None


def instrument_scoring(service: ScoringService) -> None:
    """Time scoring for /metrics: the poster's wait (queue included) and each model call with its batch size."""
    service.add_timing_hook(_observe_scoring)


def _observe_scoring(kind: str, seconds: float, comments: int) -> None:
    metrics.SCORING_SECONDS.labels(kind=kind).observe(seconds)
    if kind == "batch":
        metrics.SCORING_BATCH_SIZE.observe(comments)
