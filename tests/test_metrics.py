"""/metrics in the Prometheus text format, parsed with prometheus-client's own parser; access by
token or setting; and multiprocess mode adding up two gunicorn workers."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from discuss.models import CommentStatus
from tests.factories import make_comment, make_site, make_thread
from tests.support.api import post_comment

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "metrics-token-for-tests"


def scrape(client, token: str = TOKEN) -> dict[str, dict]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/plain"
    families = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        families[family.name] = family
    return families


def value(families, name: str, sample: str | None = None, **labels) -> float:
    family = families[name]
    matching = [s.value for s in family.samples if s.name == (sample or name)
                and all(s.labels.get(k) == v for k, v in labels.items())]
    return sum(matching)


@pytest.fixture
def metrics_app(make_app):
    app = make_app(METRICS_TOKEN=TOKEN, RATELIMIT_ENABLED=True, RATE_LIMIT_POST_PER_IP="2/minute")
    with app.app_context():
        yield app


def test_metrics_count_requests_comments_scoring_queue_and_refusals(metrics_app):
    client = metrics_app.test_client()
    make_site("news")
    before = scrape(client)
    assert post_comment(client, "A fine comment.").status_code == 201
    assert post_comment(client, "You idiot.", name="Bob", acknowledge_warning=True).status_code == 202
    assert post_comment(client, "One too many.", name="Cy").status_code == 429
    client.get("/api/v1/comments?site=news&article=article-1")
    after = scrape(client)

    def delta(name, sample=None, **labels):
        return value(after, name, sample, **labels) - (value(before, name, sample, **labels) if name in before else 0)

    assert delta("discuss_http_requests", "discuss_http_requests_total", endpoint="api.create_comment",
                 method="POST", status="201") == 1
    assert delta("discuss_http_requests", "discuss_http_requests_total", endpoint="api.list_comments",
                 status="200") == 1
    assert delta("discuss_http_request_duration_seconds", "discuss_http_request_duration_seconds_count",
                 endpoint="api.create_comment") == 3
    assert delta("discuss_comments", "discuss_comments_total", outcome="published", reason="none") == 1
    assert delta("discuss_comments", "discuss_comments_total", outcome="pending", reason="toxicity:insult") == 1
    assert delta("discuss_rate_limit_refusals", "discuss_rate_limit_refusals_total", endpoint="api.create_comment") == 1
    assert delta("discuss_scoring_seconds", "discuss_scoring_seconds_count", kind="interactive") >= 2
    assert delta("discuss_scoring_batch_size", "discuss_scoring_batch_size_count") >= 1
    assert value(after, "discuss_pending_comments") == 1
    assert value(after, "discuss_scorer_state", state="ready") == 1
    assert value(after, "discuss_scorer_state", state="failed") == 0


def test_pending_queue_age_is_the_oldest_waiting_comment(metrics_app):
    thread = make_thread(make_site("news"))
    make_comment(thread, status=CommentStatus.PENDING, age=timedelta(minutes=30))
    make_comment(thread, status=CommentStatus.PENDING, age=timedelta(minutes=5))
    families = scrape(metrics_app.test_client())
    assert value(families, "discuss_pending_comments") == 2
    assert 30 * 60 <= value(families, "discuss_pending_oldest_age_seconds") < 31 * 60


def test_webhook_deliveries_are_counted_by_result(metrics_app):
    from discuss.jobs import webhooks
    from tests.support.webhook_receiver import Receiver, start_receiver

    box = Receiver(fail_first=1)
    server = start_receiver(box)
    metrics_app.config.update(WEBHOOK_RETRY_BASE_SECONDS=0.05)
    site = make_site("news", webhooks_allow_private=True)
    before = scrape(metrics_app.test_client())
    hook = webhooks.add_webhook(site, box.url)
    box.secret = hook.secret
    post_comment(metrics_app.test_client(), "Counted.")
    box.wait_for(2)
    time.sleep(0.3)
    server.shutdown()
    after = scrape(metrics_app.test_client())
    for result, expected in (("retrying", 1), ("delivered", 1)):
        name = "discuss_webhook_deliveries_total"
        old = value(before, "discuss_webhook_deliveries", name, result=result) if "discuss_webhook_deliveries" in before else 0
        assert value(after, "discuss_webhook_deliveries", name, result=result) - old == expected


@pytest.mark.parametrize("headers, status", [({}, 401), ({"Authorization": "Bearer wrong"}, 401)])
def test_metrics_need_the_token(metrics_app, headers, status):
    response = metrics_app.test_client().get("/metrics", headers=headers)
    assert response.status_code == status and response.get_json()["error"]["code"] == "unauthorized"


def test_metrics_are_off_without_a_token_or_the_public_setting(client):
    response = client.get("/metrics")
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "metrics_disabled"


def test_the_public_setting_opens_metrics_without_a_token(make_app):
    app = make_app(METRICS_PUBLIC=True)
    with app.app_context():
        assert app.test_client().get("/metrics").status_code == 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.timeout(120)
def test_multiprocess_mode_counts_every_gunicorn_worker(tmp_path, database_template):
    """Two sync workers behind gunicorn.conf.py: /metrics adds up requests whichever worker served them."""
    if os.environ.get("DISCUSS_TEST_DATABASE_URL"):
        pytest.skip("runs on the SQLite template only")
    db_path = tmp_path / "metrics.db"
    db_path.write_bytes(Path(database_template).read_bytes())
    port = _free_port()
    env = {**os.environ, "DISCUSS_DATABASE_URL": f"sqlite:///{db_path}", "DISCUSS_SCORER_ENABLED": "0",
           "DISCUSS_METRICS_TOKEN": TOKEN, "DISCUSS_RATELIMIT_ENABLED": "0"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
                               "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("gunicorn did not start")
                time.sleep(0.2)
        for _ in range(40):
            urllib.request.urlopen(base + "/healthz", timeout=5).read()
        request = urllib.request.Request(base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        text = urllib.request.urlopen(request, timeout=5).read().decode()
        families = {f.name: f for f in text_string_to_metric_families(text)}
        served = [s for s in families["discuss_http_requests"].samples
                  if s.name == "discuss_http_requests_total" and s.labels["endpoint"] == "health.healthz"]
        assert sum(s.value for s in served) >= 41  # every request, whichever worker answered it
        pids = {s.labels.get("pid") for s in served}
        assert pids == {None}  # summed across workers, not one series per process
    finally:
        server.terminate()
        server.wait(timeout=20)
