"""Signed webhooks delivered to a real local HTTP receiver that checks every signature: events from
every path that changes a comment, retries with backoff (in a thread and on RQ), the delivery log,
the SSRF guard, the Slack format and the CLI."""
from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
import uuid

import pytest

from discuss.cli import discuss_cli
from discuss.extensions import db
from discuss.identity.staff import Actor
from discuss.jobs import webhook_delivery, webhooks
from discuss.models import CommentStatus, Role, WebhookDelivery
from discuss.moderation import actions
from tests.dashboard_support import make_staff
from tests.factories import make_comment, make_site, make_thread, make_user
from tests.support.api import post_comment
from tests.support.webhook_receiver import receiver  # noqa: F401  (fixture)

FAST = {"WEBHOOK_RETRY_BASE_SECONDS": 0.05, "WEBHOOK_MAX_ATTEMPTS": 5, "PUBLIC_URL": "http://comments.test"}


@pytest.fixture
def hook_app(make_app):
    app = make_app(**FAST)
    with app.app_context():
        yield app
    # Let this test's delivery threads finish their retries: on PostgreSQL the next test reuses
    # the same database (and ids), so a late retry would land in the next test's receiver.
    deadline = time.monotonic() + 10  # FAST retries finish in well under a second
    for thread in threading.enumerate():
        if thread.name == "discuss-job:deliver_with_backoff":
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


@pytest.fixture
def site(hook_app):
    # The receiver listens on 127.0.0.1: only a site that allows private addresses may use it.
    return make_site("news", webhooks_allow_private=True, toxicity_nudge=False)


def add_hook(site, receiver, **kwargs):
    hook = webhooks.add_webhook(site, receiver.url, **kwargs)
    receiver.secret = hook.secret
    return hook


def log_rows(delivery_id: str | None = None) -> list[WebhookDelivery]:
    db.session.expire_all()
    query = db.select(WebhookDelivery).order_by(WebhookDelivery.id)
    if delivery_id:
        query = query.where(WebhookDelivery.delivery_id == delivery_id)
    return list(db.session.scalars(query))


def wait_log(predicate, timeout: float = 10.0) -> list[WebhookDelivery]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = log_rows()
        if predicate(rows):
            return rows
        time.sleep(0.05)
    raise AssertionError(f"delivery log never matched: {[(r.attempt, r.result, r.error) for r in log_rows()]}")


def test_a_published_comment_arrives_signed_with_its_event_delivery_id_and_body(hook_app, site, receiver):
    add_hook(site, receiver)
    response = post_comment(hook_app.test_client(), "Good *reporting*.", name="Ann")
    assert response.status_code == 201
    [item] = receiver.wait_for(1)
    assert item.status == 200 and receiver.signature_ok(item)
    assert item.event == "comment.published"
    assert uuid.UUID(item.headers["X-Discuss-Delivery"])
    body = item.json
    comment_id = response.get_json()["comment"]["id"]
    assert body["delivery_id"] == item.headers["X-Discuss-Delivery"]
    assert body["comment"]["id"] == comment_id and body["comment"]["author"]["name"] == "Ann"
    assert body["comment"]["text"] == "Good reporting."
    assert body["comment"]["permalink"] == f"https://news.example.com/article-1#discuss-comment-{comment_id}"
    assert body["thread"]["article"] == "article-1" and body["site"]["slug"] == "news"
    assert body["reasons"] == [] and body["scores"]["toxicity"] < 0.1
    [row] = wait_log(lambda rows: len(rows) == 1)
    assert (row.attempt, row.result, row.status_code, row.error) == (1, "delivered", 200, None)


def test_the_signature_covers_the_raw_body(hook_app, site, receiver):
    hook = add_hook(site, receiver)
    body = b'{"event":"comment.published"}'
    assert webhook_delivery.sign(hook.secret, body) == "sha256=" + hmac.new(
        hook.secret.encode(), body, hashlib.sha256).hexdigest()
    assert webhook_delivery.sign(hook.secret, body + b" ") != webhook_delivery.sign(hook.secret, body)
    receiver.secret = "whsec_someone-else"  # a receiver with another secret refuses the delivery
    post_comment(hook_app.test_client(), "Signed for someone else.")
    [item] = receiver.wait_for(1)
    assert item.status == 401


def test_events_from_every_path_that_changes_a_comment(hook_app, site, receiver):
    add_hook(site, receiver)
    client = hook_app.test_client()
    admin = make_staff("chief@news.example.com", Role.ADMIN)
    actor = Actor.for_user(admin)
    # Each delivery runs on its own thread, so two events in flight may arrive in either order:
    # each step waits for its event before the next, and the order checked is the steps' order.
    published = post_comment(client, "A fine first comment.").get_json()
    receiver.wait_for(1)
    held = post_comment(client, "You idiot.", name="Bob").get_json()        # toxicity hold
    receiver.wait_for(2)
    client.post(f"/api/v1/comments/{published['comment']['id']}/reports", json={"reason": "spam", "note": "ad"})
    receiver.wait_for(3)
    token = {"Authorization": f"Bearer {published['author_token']}"}
    client.patch(f"/api/v1/comments/{published['comment']['id']}", json={"body": "A finer comment."}, headers=token)
    receiver.wait_for(4)
    from discuss.models import Comment
    actions.apply_comment_action(actor, db.session.get(Comment, held["comment"]["id"]), "reject", reason="abuse")
    receiver.wait_for(5)
    actions.apply_comment_action(actor, db.session.get(Comment, published["comment"]["id"]), "feature")  # no event
    client.delete(f"/api/v1/comments/{published['comment']['id']}", headers=token)
    items = receiver.wait_for(6)
    assert receiver.stays_at(6)
    assert [i.event for i in items] == ["comment.published", "comment.held", "comment.reported",
                                        "comment.edited", "comment.rejected", "comment.deleted"]
    assert all(receiver.signature_ok(i) for i in items)
    held_body = items[1].json
    assert "toxicity:insult" in held_body["reasons"] and held_body["scores"]["insult"] == pytest.approx(0.88)
    assert items[2].json["report"] == {"reason": "spam", "note": "ad"}
    assert items[3].json["comment"]["text"] == "A finer comment."
    assert items[4].json["comment"]["status"] == "rejected"
    assert items[5].json["comment"]["text"] == ""  # a deleted comment's words are gone, in webhooks too


def test_a_webhook_only_gets_the_events_it_asked_for(hook_app, site, receiver):
    add_hook(site, receiver, events=["comment.held"])
    client = hook_app.test_client()
    post_comment(client, "Nothing to see.")
    post_comment(client, "What a moron.", name="Bob")
    [item] = receiver.wait_for(1)
    assert receiver.stays_at(1) and item.event == "comment.held"


def test_a_receiver_failing_twice_gets_the_third_attempt_with_the_same_delivery_id(hook_app, site, receiver):
    receiver.fail_first = 2
    add_hook(site, receiver)
    post_comment(hook_app.test_client(), "Third time lucky.")
    items = receiver.wait_for(3)
    assert [i.status for i in items] == [500, 500, 200]
    assert len({i.headers["X-Discuss-Delivery"] for i in items}) == 1
    assert len({i.body for i in items}) == 1 and all(receiver.signature_ok(i) for i in items)
    rows = wait_log(lambda rows: len(rows) == 3)
    assert [(r.attempt, r.result, r.status_code) for r in rows] == [
        (1, "retrying", 500), (2, "retrying", 500), (3, "delivered", 200)]
    assert rows[0].error == "HTTP 500"


def test_backoff_grows_exponentially_and_allows_at_least_five_attempts(hook_app):
    hook_app.config.update(WEBHOOK_MAX_ATTEMPTS=6, WEBHOOK_RETRY_BASE_SECONDS=10)
    assert webhook_delivery.retry_delays() == [10, 30, 90, 270, 810]


def test_a_receiver_that_is_down_never_slows_or_loses_a_comment(hook_app, site, receiver):
    receiver.delay = 3.0  # answers, but far too slowly
    add_hook(site, receiver)
    hook_app.config.update(WEBHOOK_TIMEOUT_SECONDS=0.2, WEBHOOK_MAX_ATTEMPTS=5)
    started = time.monotonic()
    response = post_comment(hook_app.test_client(), "Saved whatever the receiver does.")
    assert response.status_code == 201 and time.monotonic() - started < 1.0
    rows = wait_log(lambda rows: len(rows) == 5 and rows[-1].result == "failed", timeout=20)
    assert [r.result for r in rows] == ["retrying"] * 4 + ["failed"]
    assert all("timed out" in (r.error or "") for r in rows)
    from discuss.models import Comment
    assert db.session.get(Comment, response.get_json()["comment"]["id"]).status is CommentStatus.PUBLISHED


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/hook",
                                 "http://169.254.169.254/latest/meta-data", "http://[::1]/hook",
                                 "http://192.168.0.10/hook", "http://[::ffff:127.0.0.1]/hook"])
def test_the_ssrf_guard_refuses_private_loopback_and_link_local_addresses(hook_app, url):
    strict = make_site("strict")
    with pytest.raises(webhooks.ValidationFailed) as refused:
        webhooks.add_webhook(strict, url)
    assert "private, loopback or link-local" in refused.value.fields["url"]
    assert webhooks.site_webhooks(strict) == []


def test_the_guard_also_holds_at_delivery_when_the_setting_is_turned_off(hook_app, site, receiver):
    add_hook(site, receiver)
    site.settings = {**site.settings, "webhooks_allow_private": False}
    db.session.commit()
    post_comment(hook_app.test_client(), "Going nowhere inside.")
    [row] = wait_log(lambda rows: len(rows) == 1)
    assert row.result == "failed" and row.error.startswith("refused:") and row.status_code is None
    assert receiver.stays_at(0)


def test_bad_webhook_input_is_refused_and_stores_nothing(hook_app, site):
    for kwargs in ({"url": "ftp://example.com/x"}, {"url": "https://example.com/x", "events": ["comment.liked"]},
                   {"url": "https://example.com/x", "fmt": "xml"}):
        with pytest.raises(webhooks.ValidationFailed):
            webhooks.add_webhook(site, **kwargs)
    assert webhooks.site_webhooks(site) == []


def test_slack_format_sends_a_text_message_for_held_and_reported_comments(hook_app, site, receiver):
    add_hook(site, receiver, fmt="slack")
    client = hook_app.test_client()
    post_comment(client, "Perfectly civil.")
    held = post_comment(client, "You <b>idiot</b> & fool.", name="Bob").get_json()
    [item] = receiver.wait_for(1)
    assert receiver.stays_at(1)
    assert item.event == "comment.held" and receiver.signature_ok(item)
    text = item.json["text"]
    assert set(item.json) == {"text"}
    assert text.startswith("*Comment held for review* on News: Bob on <https://news.example.com/article-1#discuss-comment-")
    # The reader's words cannot forge Slack markup or links: <, > and & arrive escaped.
    assert "toxicity:insult" in text and "> You &lt;b&gt;idiot&lt;/b&gt; &amp; fool." in text and "<b>" not in text
    assert f"<http://comments.test/mod/comments/{held['comment']['id']}|Open in the moderation dashboard>" in text


def test_queue_mode_waiting_for_a_worker_is_not_announced_as_held(make_app, receiver):
    app = make_app(**FAST, SCORING="queue", MAIL_DELIVERY="thread", REDIS_URL="redis://127.0.0.1:1/0")
    with app.app_context():
        hook_site = make_site("news", webhooks_allow_private=True)
        add_hook(hook_site, receiver)
        assert post_comment(app.test_client(), "Waiting for a worker.").status_code == 202
        assert receiver.stays_at(0)


def test_retries_run_on_rq_when_redis_is_the_job_queue(make_app, receiver, redis_url):
    app = make_app(**{**FAST, "WEBHOOK_RETRY_BASE_SECONDS": 0}, MAIL_DELIVERY="queue", REDIS_URL=redis_url)
    with app.app_context():
        hook_site = make_site("news", webhooks_allow_private=True)
        add_hook(hook_site, receiver)
        receiver.fail_first = 2
        assert post_comment(app.test_client(), "Through Redis.").status_code == 201
        assert receiver.stays_at(0, wait=0.3)  # nothing is sent until a worker runs the job
        from discuss.jobs.runner import run_worker

        run_worker(burst=True)
        items = receiver.wait_for(3)
        assert [i.status for i in items] == [500, 500, 200]
        assert [(r.attempt, r.result) for r in log_rows()] == [(1, "retrying"), (2, "retrying"), (3, "delivered")]


def test_cli_adds_a_webhook_and_prints_its_secret_once(hook_app, site, receiver):
    runner = hook_app.test_cli_runner()
    result = runner.invoke(discuss_cli, ["webhook", "add", "news", receiver.url, "--events",
                                         "comment.held,comment.reported"])
    assert result.exit_code == 0, result.output
    secret = re.search(r"whsec_[\w-]+", result.output).group(0)
    listed = runner.invoke(discuss_cli, ["webhook", "list", "news"])
    assert receiver.url in listed.output and "comment.held,comment.reported" in listed.output
    assert secret not in listed.output
    receiver.secret = secret
    hook_id = webhooks.site_webhooks(site)[0].id
    tested = runner.invoke(discuss_cli, ["webhook", "test", "news", str(hook_id)])
    assert tested.exit_code == 0 and "delivered" in tested.output
    [item] = receiver.wait_for(1)
    assert item.event == "webhook.test" and receiver.signature_ok(item)
    removed = runner.invoke(discuss_cli, ["webhook", "remove", "news", str(hook_id)])
    assert removed.exit_code == 0 and webhooks.site_webhooks(site) == []


def test_cli_refuses_a_loopback_url_without_the_site_setting(hook_app):
    make_site("strict")
    result = hook_app.test_cli_runner().invoke(discuss_cli, ["webhook", "add", "strict", "http://127.0.0.1:8/x"])
    assert result.exit_code != 0 and "loopback" in result.output and "whsec_" not in result.output


def test_moderator_bulk_reject_and_ban_send_one_event_per_comment(hook_app, site, receiver):
    add_hook(site, receiver, events=["comment.rejected"])
    thread = make_thread(site)
    author = make_user("Spammer")
    pending = [make_comment(thread, author, f"Buy now {i}", status=CommentStatus.PENDING) for i in range(3)]
    actor = Actor.for_user(make_staff("chief@news.example.com", Role.ADMIN))
    actions.apply_bulk_action(actor, [pending[0].id], "reject", reason="spam")
    actions.ban_author(actor, site.id, author.id, reject_pending=True)
    items = receiver.wait_for(3)
    assert sorted(i.json["comment"]["id"] for i in items) == sorted(c.id for c in pending)
