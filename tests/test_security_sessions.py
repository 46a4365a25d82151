"""Safe by default (issue 15): a generated secret key, the published one refused, and sessions
and tokens that end on the server when the reason they were granted ends."""
from __future__ import annotations

import os
import re
import stat

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeSerializer

from discuss import create_app
from discuss.extensions import db
from discuss.identity import staff as staff_service
from discuss.identity.tokens import AUTHOR_TOKEN_SALT, issue_author_token, user_from_bearer
from discuss.models import Role, User
from discuss.security import InsecureSecretKey
from tests.dashboard_support import PASSWORD, forget_cached_user, make_staff
from tests.support.api import sign_up
from tests.factories import make_site, make_user

OLD_DEV_KEY = "dev-insecure-change-me"
STAFF_PASSWORD = "a long enough password"


def forged_session_cookie(key: str, session: dict) -> str:
    """A Flask session cookie signed with ``key``, built the way Flask itself signs one."""
    forger = Flask("forger")
    forger.secret_key = key
    return SecureCookieSessionInterface().get_signing_serializer(forger).dumps(session)


def csrf_from(client, url: str) -> str:
    forget_cached_user()
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


# -- the secret key -----------------------------------------------------------------------------

def test_unset_key_is_generated_once_owner_only_and_reused(make_app, tmp_path):
    key_file = tmp_path / "instance" / "secret_key"
    first = make_app(SECRET_KEY=None, SECRET_KEY_FILE=str(key_file))
    second = make_app(SECRET_KEY=None, SECRET_KEY_FILE=str(key_file))  # a second worker, or a restart
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(first.config["SECRET_KEY"]) >= 32 and first.config["SECRET_KEY"] != OLD_DEV_KEY
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_a_key_file_others_can_read_is_made_owner_only(make_app, tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text("x" * 64)
    os.chmod(key_file, 0o644)
    app = make_app(SECRET_KEY=None, SECRET_KEY_FILE=str(key_file))
    assert app.config["SECRET_KEY"] == "x" * 64
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_the_published_development_key_is_refused_at_start(monkeypatch, tmp_path):
    monkeypatch.setenv("DISCUSS_SECRET_KEY", OLD_DEV_KEY)
    with pytest.raises(InsecureSecretKey, match="published development value"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db", "SCORER_ENABLED": False})


def test_a_session_forged_with_the_old_development_key_is_refused(make_app, tmp_path):
    app = make_app(SECRET_KEY=None, SECRET_KEY_FILE=str(tmp_path / "secret_key"))
    with app.app_context():
        make_site()
        admin = make_staff("chief@example.com", Role.ADMIN)
        session = {"_user_id": admin.get_id(), "_fresh": True}
        client = app.test_client()
        client.set_cookie("session", forged_session_cookie(OLD_DEV_KEY, session))
        forget_cached_user()
        assert client.get("/mod/queue/pending").status_code == 302  # to the sign-in page
        assert client.get("/api/v1/moderation/queues").status_code == 401
        # The forger is sound: the same cookie signed with the app's real key is accepted.
        client.set_cookie("session", forged_session_cookie(app.config["SECRET_KEY"], session))
        forget_cached_user()
        assert client.get("/mod/queue/pending").status_code == 200
        # And author tokens signed with the old key identify nobody.
        guest = make_user("Guest")
        assert user_from_bearer(issue_author_token(guest)) is guest
        forged_token = URLSafeSerializer(OLD_DEV_KEY, salt=AUTHOR_TOKEN_SALT).dumps({"u": guest.id, "v": 0})
        assert user_from_bearer(forged_token) is None


# -- sessions you can end -----------------------------------------------------------------------

def register_reader(client, email: str) -> str:
    return sign_up(client, email=email, password="reader password 1").get_json()["token"]


def test_promoting_a_readers_email_to_staff_kills_the_old_session(app, client):
    site = make_site()
    token = register_reader(client, "ann@example.com")
    guest_user = make_user("Ann's guest self")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # The same person held a staff-session-shaped cookie as a reader (e.g. signed in earlier).
    reader = db.session.query(User).filter_by(email="ann@example.com").one()
    old_cookie_session = {"_user_id": reader.get_id(), "_fresh": True}

    staff_service.create_staff("ann@example.com", STAFF_PASSWORD, site_ids=[site.id])

    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "invalid_token"
    browser = app.test_client()
    browser.set_cookie("session", forged_session_cookie(app.config["SECRET_KEY"], old_cookie_session))
    forget_cached_user()
    assert browser.get("/mod/queue/pending").status_code == 302
    assert browser.get("/api/v1/moderation/queues").status_code == 401
    assert guest_user.session_version == 0  # nobody else is touched


def test_staff_sign_out_ends_the_session_everywhere(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_site()
        make_staff("mod@example.com", Role.ADMIN)
        client = app.test_client()
        token = csrf_from(client, "/auth/login")
        client.post("/auth/login", data={"email": "mod@example.com", "password": PASSWORD, "csrf_token": token})
        copied = client.get_cookie("session").value  # e.g. taken from a shared computer
        forget_cached_user()
        assert client.get("/mod/queue/pending").status_code == 200
        client.post("/auth/logout", data={"csrf_token": csrf_from(client, "/mod/queue/pending")})
        replay = app.test_client()
        replay.set_cookie("session", copied)
        forget_cached_user()
        assert replay.get("/mod/queue/pending").status_code == 302
        assert replay.get("/api/v1/moderation/queues").status_code == 401


def test_csrf_secret_is_renewed_at_sign_in(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_staff("mod@example.com", Role.ADMIN)
        client = app.test_client()
        token = csrf_from(client, "/auth/login")
        with client.session_transaction() as session:
            before = session["csrf_token"]
        client.post("/auth/login", data={"email": "mod@example.com", "password": PASSWORD, "csrf_token": token})
        forget_cached_user()
        with client.session_transaction() as session:
            assert session.get("csrf_token") != before
        # A form token minted before sign-in no longer passes.
        assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 400


def test_password_change_and_deletion_end_sessions_and_author_tokens(app, client):
    make_site()
    token = register_reader(client, "bo@example.com")
    other = client.post("/api/v1/auth/login", json={"email": "bo@example.com", "password": "reader password 1"})
    other_token = other.get_json()["token"]
    changed = client.post("/api/v1/me/password", headers={"Authorization": f"Bearer {token}"},
                          json={"current_password": "reader password 1", "new_password": "reader password 2"})
    assert changed.status_code == 200
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {other_token}"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # Reader sign-out ends every session of that reader.
    third = client.post("/api/v1/auth/login", json={"email": "bo@example.com", "password": "reader password 2"})
    client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    third_token = third.get_json()["token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {third_token}"}).status_code == 401


def test_revoking_a_guest_ends_its_author_token(app):
    from discuss.identity.revocation import end_all_sessions

    guest = make_user("Guest")
    token = issue_author_token(guest)
    assert user_from_bearer(token) is guest
    end_all_sessions(guest)
    db.session.commit()
    assert user_from_bearer(token) is None


def test_https_public_url_turns_on_secure_cookies_and_hsts(make_app):
    plain = make_app()
    assert plain.config["SESSION_COOKIE_SECURE"] is False
    assert "Strict-Transport-Security" not in plain.test_client().get("/healthz").headers
    secure = make_app(PUBLIC_URL="https://comments.example.com")
    assert secure.config["SESSION_COOKIE_SECURE"] is True
    response = secure.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
