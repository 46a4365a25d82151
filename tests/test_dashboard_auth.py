"""Staff sign-in, CSRF on every form, rate-limited login, API tokens, and the CLI."""
from __future__ import annotations

import re

import pytest
from werkzeug.security import check_password_hash

from discuss.extensions import db
from discuss.models import CommentStatus, Role, User
from discuss.identity import staff as staff_service
from tests.dashboard_support import PASSWORD, build_world, forget_cached_user, make_staff, sign_in
from tests.factories import make_site


def csrf_from(client, url: str = "/auth/login") -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def csrf_app(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        yield app


def login(client, email, password, token=None, next_url=""):
    data = {"email": email, "password": password, "next": next_url}
    if token is not None:
        data["csrf_token"] = token
    return client.post("/auth/login", data=data)


def test_login_and_logout(csrf_app):
    client = csrf_app.test_client()
    w = build_world()
    response = login(client, "MOD@example.com", PASSWORD, csrf_from(client))
    assert response.status_code == 302 and response.headers["Location"].endswith("/mod/")
    assert client.get("/mod/queue/pending").status_code == 200
    assert client.post("/auth/logout").status_code == 400  # no CSRF token: refused
    client.post("/auth/logout", data={"csrf_token": csrf_from(client, "/mod/queue/pending")})
    assert client.get("/mod/queue/pending").status_code == 302
    assert w.users["moderator"].id


def test_wrong_password_and_non_staff_are_refused(csrf_app):
    client = csrf_app.test_client()
    build_world()
    token = csrf_from(client)
    assert login(client, "mod@example.com", "wrong password!", token).status_code == 401
    reader = User(kind="account", role=Role.READER, display_name="r", email="r@example.com",
                  password_hash=db.session.get(User, 4).password_hash)
    db.session.add(reader)
    db.session.commit()
    assert login(client, "r@example.com", PASSWORD, token).status_code == 401
    assert client.get("/mod/queue/pending").status_code == 302


def test_login_without_csrf_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    build_world()
    assert login(client, "mod@example.com", PASSWORD).status_code == 400


def test_login_never_redirects_off_site(csrf_app):
    client = csrf_app.test_client()
    build_world()
    response = login(client, "mod@example.com", PASSWORD, csrf_from(client), next_url="https://evil.example/x")
    assert response.headers["Location"].endswith("/mod/")
    forget_cached_user()
    client = csrf_app.test_client()
    response = login(client, "mod@example.com", PASSWORD, csrf_from(client), next_url="//evil.example/x")
    assert response.headers["Location"].endswith("/mod/")


def test_login_attempts_are_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATE_LIMIT_LOGIN="3/minute")
    with app.app_context():
        build_world()
        client = app.test_client()
        codes = [login(client, "mod@example.com", "nope nope nope").status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        assert login(client, "mod@example.com", PASSWORD).status_code == 429


def test_session_cookie_flags(csrf_app):
    client = csrf_app.test_client()
    build_world()
    response = login(client, "mod@example.com", PASSWORD, csrf_from(client))
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_dashboard_forms_need_csrf(csrf_app):
    client = csrf_app.test_client()
    w = build_world()
    sign_in(client, w.users["moderator"])
    assert client.post(f"/mod/comments/{w.pending.id}/approve").status_code == 400
    assert client.post("/mod/bulk", data={"action": "approve", "ids": [str(w.pending.id)]}).status_code == 400
    db.session.expire_all()
    assert w.pending.status == CommentStatus.PENDING
    token = csrf_from(client, "/mod/queue/pending")
    assert client.post(f"/mod/comments/{w.pending.id}/approve", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert w.pending.status == CommentStatus.PUBLISHED


def test_api_with_session_needs_csrf_header(csrf_app):
    client = csrf_app.test_client()
    w = build_world()
    sign_in(client, w.users["moderator"])
    url = f"/api/v1/moderation/comments/{w.pending.id}/actions"
    refused = client.post(url, json={"action": "approve"})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf_failed"
    assert client.get("/api/v1/moderation/queues").status_code == 200  # reads need no token
    token = csrf_from(client, "/mod/queue/pending")
    assert client.post(url, json={"action": "approve"}, headers={"X-CSRFToken": token}).status_code == 200


def test_site_api_token(csrf_app):
    client = csrf_app.test_client()
    w = build_world()
    token = staff_service.issue_api_token(w.site)
    assert token.startswith("dsk_") and w.site.api_token_hash != token
    headers = {"Authorization": f"Bearer {token}"}
    # No CSRF needed with a token: a browser never attaches it on its own.
    response = client.post(f"/api/v1/moderation/comments/{w.pending.id}/actions", json={"action": "approve"},
                           headers=headers)
    assert response.status_code == 200 and response.get_json()["comment"]["status"] == "published"
    event = response.get_json()["comment"]["history"][-1]
    assert event["actor_label"] == "api:news" and event["actor_id"] is None
    assert client.get(f"/api/v1/moderation/comments/{w.foreign_pending.id}", headers=headers).status_code == 404
    counts = client.get("/api/v1/moderation/queues", headers=headers).get_json()["counts"]
    assert counts["pending"] == 1  # only this site's queue
    assert client.get("/api/v1/moderation/sites/news/settings", headers=headers).status_code == 200
    assert client.get("/api/v1/moderation/sites/sports/settings", headers=headers).status_code == 404
    bad = client.get("/api/v1/moderation/queues", headers={"Authorization": "Bearer dsk_wrong"})
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "invalid_token"
    # Reader author tokens (no dsk_ prefix) are not moderation credentials.
    assert client.get("/api/v1/moderation/queues", headers={"Authorization": "Bearer abc"}).status_code == 401


def test_admin_issues_token_once_from_settings(app, client):
    w = build_world()
    sign_in(client, w.users["admin"])
    page = client.post("/mod/sites/news/api-token").get_data(as_text=True)
    token = re.search(r'value="(dsk_[^"]+)"', page).group(1)
    assert staff_service.site_for_api_token(token).id == w.site.id
    assert token not in client.get("/mod/sites/news/settings").get_data(as_text=True)


def test_cli_create_moderator_and_token(app):
    site = make_site("news")
    runner = app.test_cli_runner()
    from discuss.cli import discuss_cli as group

    result = runner.invoke(group, ["create-moderator", "Ed@Example.com", "--site", "news"],
                           input="long enough pw\nlong enough pw\n")
    assert result.exit_code == 0, result.output
    user = staff_service.find_staff_by_email("ed@example.com")
    assert user.role == Role.MODERATOR and user.moderated_site_ids == [site.id]
    assert user.password_hash != "long enough pw" and check_password_hash(user.password_hash, "long enough pw")
    result = runner.invoke(group, ["create-moderator", "boss@example.com", "--admin"],
                           env={"DISCUSS_STAFF_PASSWORD": "another long pw"})
    assert result.exit_code == 0 and staff_service.find_staff_by_email("boss@example.com").role == Role.ADMIN
    assert runner.invoke(group, ["create-moderator", "x@example.com", "--site", "nope"],
                         input="long enough pw\nlong enough pw\n").exit_code != 0
    assert runner.invoke(group, ["create-moderator", "y@example.com", "--site", "news"],
                         input="short\nshort\n").exit_code != 0
    result = runner.invoke(group, ["issue-api-token", "news"])
    token = result.output.strip().splitlines()[-1]
    assert staff_service.site_for_api_token(token).id == site.id


def test_authenticate_rejects_deactivated_staff(app):
    site = make_site("news")
    user = make_staff("gone@example.com", Role.MODERATOR, [site])
    assert staff_service.authenticate("gone@example.com", PASSWORD).id == user.id
    user.is_active_account = False
    db.session.commit()
    assert staff_service.authenticate("gone@example.com", PASSWORD) is None
