"""Prometheus metrics: the counters and histograms every layer may update, and the request timer.

prometheus-client runs in multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set before it is
imported (``gunicorn.conf.py`` sets it for gunicorn's workers): every process writes its samples
to files there and ``/metrics`` (discuss/health.py) adds them up, so all workers are counted
whichever one answers the scrape. Without it (the Flask dev server, tests) the process's own
registry is served.

Values that are true "now" rather than counted (pending-queue size and age, scorer state and
queue depth) are read at scrape time by the /metrics view, not kept here.
"""
from __future__ import annotations

import time

from flask import Flask, g, request
from prometheus_client import Counter, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("discuss_http_requests_total", "HTTP requests by endpoint, method and status.",
                   ["endpoint", "method", "status"])
REQUEST_SECONDS = Histogram("discuss_http_request_duration_seconds", "Time to answer a request, by endpoint.",
                            ["endpoint"], buckets=LATENCY_BUCKETS)
COMMENTS = Counter("discuss_comments_total",
                   "Comment decisions by outcome (published, pending, rejected, deleted, edited) and reason code "
                   "(one sample per reason; 'none' when there is none).", ["outcome", "reason"])
SCORING_SECONDS = Histogram("discuss_scoring_seconds",
                            "Toxicity scoring latency: interactive (one comment, as the poster waits, queue "
                            "included) and batch (one model call).", ["kind"], buckets=LATENCY_BUCKETS)
SCORING_BATCH_SIZE = Histogram("discuss_scoring_batch_size", "Comments scored together in one model call.",
                               buckets=(1, 2, 4, 8, 16, 32, 64))
WEBHOOK_DELIVERIES = Counter("discuss_webhook_deliveries_total",
                             "Webhook delivery attempts by result (delivered, retrying, failed).", ["result"])
RATE_LIMITED = Counter("discuss_rate_limit_refusals_total", "Requests refused with 429, by endpoint.", ["endpoint"])


def count_comment(outcome: str, reasons: list[str] | None) -> None:
    # Reason codes are a fixed vocabulary (rule names, toxicity labels), so the label stays small.
    for reason in reasons or ["none"]:
        COMMENTS.labels(outcome=outcome, reason=reason.split("|", 1)[0][:64]).inc()


def install_request_metrics(app: Flask) -> None:
    """Time every request and count it by endpoint (the route's name, never the raw path)."""
    @app.before_request
    def _start_timer():
        g.discuss_request_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("discuss_request_started", None)
        endpoint = request.endpoint or "unmatched"
        if started is not None:
            REQUEST_SECONDS.labels(endpoint=endpoint).observe(time.perf_counter() - started)
        REQUESTS.labels(endpoint=endpoint, method=request.method, status=str(response.status_code)).inc()
        if response.status_code == 429:
            RATE_LIMITED.labels(endpoint=endpoint).inc()
        return response
