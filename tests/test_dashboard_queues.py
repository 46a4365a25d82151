"""Queue contents, counts, filters, sorting, search, pagination; the audit log; site settings."""
from __future__ import annotations

from datetime import timedelta

import pytest

from discuss.extensions import db
from discuss.models import CommentStatus, Report, ReportReason
from tests.dashboard_support import sign_in
from tests.factories import make_comment, make_user

pytestmark = pytest.mark.signed_in("admin")


def api_ids(client, queue: str, **params) -> list[int]:
    body = client.get(f"/api/v1/moderation/queues/{queue}", query_string=params).get_json()
    return [item["id"] for item in body["items"]]


def test_counts_on_every_page(client, world):
    expected = {"pending": 3, "reported": 1, "rejected": 1, "published": 2, "all": 6}
    assert client.get("/api/v1/moderation/queues").get_json()["counts"] == expected
    news = client.get("/api/v1/moderation/queues?site=news").get_json()["counts"]
    assert news == {"pending": 2, "reported": 1, "rejected": 1, "published": 2, "all": 5}
    for url in ("/mod/queue/rejected", "/mod/audit", f"/mod/comments/{world.pending.id}"):
        html = client.get(url).get_data(as_text=True)
        assert 'data-count="pending">' in html or url == "/mod/audit"


def test_queues_hold_the_right_comments(client, world):
    assert set(api_ids(client, "pending")) == {world.pending.id, world.toxic.id, world.foreign_pending.id}
    assert api_ids(client, "reported") == [world.reported.id]
    assert api_ids(client, "rejected") == [world.rejected.id]
    assert set(api_ids(client, "published")) == {world.published.id, world.reported.id}


def test_item_shows_everything_behind_the_decision(client, world):
    db.session.add(Report(comment_id=world.reported.id, reason=ReportReason.OFF_TOPIC, note="not about this"))
    db.session.commit()
    html = client.get("/mod/queue/pending?site=news").get_data(as_text=True)
    assert "toxicity:insult" in html and "premoderation:new_commenter" in html
    assert "In reply to Ada" in html  # parent context
    assert "0.91" in html and "0.88" in html and "level-hold" in html  # every label, over-threshold marked
    assert "Budget-Vote" in html and "https://news.example.com/budget-vote" in html
    item = client.get(f"/api/v1/moderation/comments/{world.pending.id}").get_json()["comment"]
    assert item["author"]["published"] == 1 and item["author"]["pending"] == 1
    assert item["parent"]["id"] == world.published.id and item["reasons"] == ["premoderation:new_commenter"]
    reported = client.get("/mod/queue/reported").get_data(as_text=True)
    assert "off_topic" in reported and "not about this" in reported


def test_comment_html_is_the_sanitized_field_only(client, world):
    evil = make_comment(world.thread, make_user("<b>Eve</b>"), "<script>alert(1)</script> hi",
                        status=CommentStatus.PENDING)
    html = client.get(f"/mod/comments/{evil.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;b&gt;Eve&lt;/b&gt;" in html
    assert "Content-Security-Policy" in client.get("/mod/queue/pending").headers


def test_sort_by_toxicity_and_age(client, world):
    calm = make_comment(world.thread, world.author, "calm", status=CommentStatus.PENDING,
                        scores={"toxicity": 0.2, "threat": 0.75}, age=timedelta(days=2))
    assert api_ids(client, "pending", site="news", sort="toxicity") == [world.toxic.id, calm.id, world.pending.id]
    assert api_ids(client, "pending", site="news", sort="oldest")[0] == calm.id
    assert api_ids(client, "pending", site="news", sort="newest")[-1] == calm.id
    assert client.get("/api/v1/moderation/queues/pending?sort=sideways").status_code == 400


def test_filters_and_search(client, world):
    assert api_ids(client, "all", reason="toxicity") == [world.toxic.id]
    assert api_ids(client, "all", reason="premoderation:new_commenter") == [world.pending.id]
    assert set(api_ids(client, "all", author=world.author.id)) == {world.published.id, world.pending.id}
    assert api_ids(client, "all", thread=world.other_thread.id) == [world.foreign_pending.id]
    assert api_ids(client, "all", q="IDIOT") == [world.toxic.id]
    assert api_ids(client, "all", q="troll") == [world.toxic.id]  # author names too
    assert api_ids(client, "all", q="100%") == []
    html = client.get(f"/mod/queue/all?reason=toxicity&author={world.author.id}").get_data(as_text=True)
    assert "Reason: toxicity score ✕" in html and "Author: " in html


def test_pagination(client, world):
    for n in range(30):
        make_comment(world.thread, world.author, f"bulk {n}", status=CommentStatus.PENDING)
    body = client.get("/api/v1/moderation/queues/pending?site=news&per_page=25&page=2").get_json()
    assert body["total"] == 32 and body["pages"] == 2 and len(body["items"]) == 7
    html = client.get("/mod/queue/pending?site=news").get_data(as_text=True)
    assert "1–25 of 32" in html and "page=2" in html
    assert html.count('class="mod-item') == 25


def test_unknown_queue(client, world):
    assert client.get("/api/v1/moderation/queues/whatever").status_code == 400
    assert client.get("/mod/queue/whatever").status_code == 302


def test_audit_log_filters(client, world):
    client.post(f"/mod/comments/{world.pending.id}/approve")
    client.post(f"/mod/comments/{world.foreign_pending.id}/reject", data={"reason": "spam"})
    client.post(f"/mod/threads/{world.thread.id}/close")
    events = client.get("/api/v1/moderation/audit").get_json()["events"]
    assert [e["action"] for e in events] == ["close", "reject", "approve"]
    assert all(e["actor"] == "admin" for e in events)
    news = client.get("/api/v1/moderation/audit?site=news").get_json()
    assert news["total"] == 2
    assert [e["comment_id"] for e in client.get(
        f"/api/v1/moderation/audit?comment={world.pending.id}").get_json()["events"]] == [world.pending.id]
    assert client.get("/api/v1/moderation/audit?action=reject").get_json()["total"] == 1
    actor = f"staff:{world.users['admin'].id}"
    assert client.get(f"/api/v1/moderation/audit?actor={actor}").get_json()["total"] == 3
    assert client.get("/api/v1/moderation/audit?actor=staff").get_json()["total"] == 3
    html = client.get("/mod/audit?action=approve").get_data(as_text=True)
    assert f"#{world.pending.id}" in html and "pending → published" in html
    sign_in(client, world.users["moderator"])
    assert client.get("/api/v1/moderation/audit").get_json()["total"] == 2  # not the sports event


def settings_form(**changes) -> dict:
    form = {"max_depth": "3", "edit_window_minutes": "15", "max_links": "3", "new_commenter_approved_min": "1",
            "toxicity_nudge": "on", "commenting_enabled": "on", "link_policy": "allow", "premoderation": "off",
            "account_deletion_policy": "anonymize", "identity_guest": "on", "identity_account": "on",
            "identity_sso": "on", "banned_words": "", "suspect_words": "", "premoderated_user_ids": "",
            "hold_thresholds.toxicity": "0.8", "hold_thresholds.insult": "0.7", "hold_thresholds.threat": "0.7",
            "hold_thresholds.identity_attack": "0.7", "hold_thresholds.severe_toxicity": "0.7",
            "reject_thresholds.severe_toxicity": "0.95", "allowed_origins": "https://news.example.com"}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def test_settings_page_saves_every_key(client, world):
    response = client.post("/mod/sites/news/settings", data=settings_form(
        max_depth="1", edit_window_minutes="5", max_links="0", new_commenter_approved_min="2",
        toxicity_nudge=None, commenting_enabled=None, require_guest_email="on", link_policy="premoderate",
        premoderation="new_commenters", account_deletion_policy="remove", identity_sso=None,
        banned_words="Casino\npills, spam", suspect_words="idiot", premoderated_user_ids="7, 9",
        **{"hold_thresholds.toxicity": "0.6", "reject_thresholds.threat": "0.9"},
        allowed_origins="https://news.example.com\nhttps://m.news.example.com"))
    assert response.status_code == 302
    db.session.expire_all()
    s = world.site.effective_settings()
    assert (s["max_depth"], s["edit_window_minutes"], s["max_links"], s["new_commenter_approved_min"]) == (1, 5, 0, 2)
    assert not s["toxicity_nudge"] and not s["commenting_enabled"] and s["require_guest_email"]
    assert (s["link_policy"], s["premoderation"], s["account_deletion_policy"]) == (
        "premoderate", "new_commenters", "remove")
    assert s["allowed_identities"] == ["guest", "account"]
    assert s["banned_words"] == ["casino", "pills", "spam"] and s["suspect_words"] == ["idiot"]
    assert s["premoderated_user_ids"] == [7, 9]
    assert s["hold_thresholds"]["toxicity"] == 0.6 and s["reject_thresholds"]["threat"] == 0.9
    assert world.site.allowed_origins == ["https://m.news.example.com", "https://news.example.com"]
    event = client.get("/api/v1/moderation/audit?action=settings").get_json()["events"][0]
    assert "banned_words" in event["details"]["changed"] and "allowed_origins" in event["details"]["changed"]


@pytest.mark.parametrize("field,value", [("max_depth", "99"), ("max_depth", "x"), ("premoderation", "sometimes"),
                                         ("hold_thresholds.toxicity", "1.5"), ("allowed_origins", "not a url")])
def test_settings_page_refuses_bad_values(client, world, field, value):
    response = client.post("/mod/sites/news/settings", data=settings_form(**{field: value}))
    assert response.status_code == 200 and "field-error" in response.get_data(as_text=True)
    db.session.expire_all()
    assert world.site.settings == {}


def test_settings_api(client, world):
    response = client.patch("/api/v1/moderation/sites/news/settings",
                            json={"settings": {"banned_words": ["Foo"], "toxicity_nudge": False}})
    assert response.status_code == 200
    assert response.get_json()["settings"]["banned_words"] == ["foo"]
    bad = client.patch("/api/v1/moderation/sites/news/settings", json={"max_depth": "3", "nope": 1})
    assert bad.status_code == 400 and set(bad.get_json()["error"]["fields"]) == {"max_depth", "nope"}
