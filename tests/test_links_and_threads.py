"""Links only from configuration, and thread metadata a stranger cannot hijack (issue 15)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from discuss.extensions import db
from discuss.jobs import mail, notifications
from discuss.models import Comment, Thread, User
from tests.factories import make_comment, make_site, make_thread, make_user
from tests.support.api import post_comment


@pytest.fixture
def sent(monkeypatch):
    outbox = []
    monkeypatch.setattr(mail, "send", outbox.append)
    return outbox


def register(client, host="evil.example"):
    return client.post("/api/v1/auth/register", base_url=f"http://{host}",
                       json={"email": "ann@example.com", "password": "reader password 1", "display_name": "Ann"})


def test_without_public_url_no_email_is_sent_and_healthz_says_why(make_app, sent, caplog):
    app = make_app(MAIL_DELIVERY="inline", PUBLIC_URL=None)
    with app.app_context():
        make_site()
        client = app.test_client()
        refused = register(client)  # accounts are confirmed by email: none without it, for any address
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "registration_unavailable"
        assert sent == []
        health = client.get("/healthz").get_json()
        assert health["mail"]["state"] == "disabled" and "DISCUSS_PUBLIC_URL" in health["mail"]["reason"]
        assert "DISCUSS_PUBLIC_URL is not set" in caplog.text


def test_links_come_from_public_url_never_from_the_host_header(make_app, sent):
    app = make_app(MAIL_DELIVERY="inline", PUBLIC_URL="https://comments.news.example")
    with app.app_context():
        make_site()
        assert register(app.test_client(), host="evil.example").status_code == 202
        assert len(sent) == 1
        body = sent[0].context["link"]
        assert body.startswith("https://comments.news.example/api/v1/auth/register/confirm?token=")
        assert "evil.example" not in repr(sent[0])
        assert app.test_client().get("/healthz").get_json()["mail"]["state"] == "ok"


def test_reply_notification_needs_public_url(make_app, sent):
    app = make_app(MAIL_DELIVERY="inline", PUBLIC_URL=None)
    with app.app_context():
        site = make_site()
        thread = make_thread(site)
        parent_author = make_user("Ann", email="ann@example.com", email_verified=True, notify_replies=True)
        parent = make_comment(thread, parent_author)
        reply = make_comment(thread, make_user("Bo"), parent=parent)
        assert notifications.notify_reply_published(reply.id) is False
        assert sent == []


def _nothing_written() -> bool:
    return all(db.session.scalar(select(func.count(m.id))) == 0 for m in (Comment, Thread, User))


@pytest.mark.parametrize("url", ["https://evil.example/2026/03/budget", "http://news.example.com/x",
                                 "https://news.example.com.evil.example/x", "https://user@evil.example/"])
def test_article_url_must_be_on_an_allowed_origin(client, app, url):
    make_site()
    response = post_comment(client, article_url=url)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "article_url_not_allowed" and "article_url" in error["fields"]
    assert _nothing_written()


def test_allowed_article_url_and_a_capped_one_line_title(client, app):
    make_site()
    response = post_comment(client, article_url="https://NEWS.example.com/a?b=1",
                            article_title="Council\napproves " + "very " * 70 + "long budget")
    assert response.status_code == 201
    thread = db.session.scalar(select(Thread))
    assert thread.url == "https://NEWS.example.com/a?b=1"
    assert len(thread.title) == 200 and "\n" not in thread.title and thread.title.endswith("…")


# -- moderators correct a thread's metadata ---------------------------------------------------------

def _staff_client(app, role=None, sites=None):
    from discuss.models import Role
    from tests.dashboard_support import make_staff, sign_in

    staff = make_staff(f"s{len(sites or [])}{role}@example.com", role or Role.ADMIN, sites)
    client = app.test_client()
    sign_in(client, staff)
    return client


def test_moderators_correct_title_and_url_and_it_is_audited(app):
    from discuss.models import ModerationEvent

    site = make_site()
    thread = make_thread(site)
    client = _staff_client(app)
    response = client.patch(f"/api/v1/moderation/threads/{thread.id}",
                            json={"title": "Council approves\nbudget", "url": "https://news.example.com/budget"})
    assert response.status_code == 200
    assert response.get_json()["thread"] == {"id": thread.id, "title": "Council approves budget",
                                             "url": "https://news.example.com/budget"}
    event = db.session.scalar(select(ModerationEvent).where(ModerationEvent.action == "edit_thread"))
    assert event.details["from"]["title"] == "Article-1" and event.details["to"]["url"].endswith("/budget")
    foreign = client.patch(f"/api/v1/moderation/threads/{thread.id}", json={"url": "https://evil.example/x"})
    assert foreign.status_code == 400 and foreign.get_json()["error"]["code"] == "article_url_not_allowed"
    assert db.session.get(Thread, thread.id).url == "https://news.example.com/budget"


def test_dashboard_form_edits_thread_and_other_sites_moderators_cannot(app):
    from discuss.models import Role

    site, other = make_site(), make_site("other", origins=["https://other.example"])
    thread = make_thread(site)
    client = _staff_client(app)
    response = client.post(f"/mod/threads/{thread.id}/edit", data={"title": "Fixed title", "url": thread.url})
    assert response.status_code == 302 and db.session.get(Thread, thread.id).title == "Fixed title"
    outsider = _staff_client(app, Role.MODERATOR, [other])
    assert outsider.patch(f"/api/v1/moderation/threads/{thread.id}", json={"title": "Hijack"}).status_code == 404
    assert db.session.get(Thread, thread.id).title == "Fixed title"
