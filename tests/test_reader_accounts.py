"""Reader accounts: verify email, sign in and out, profile, and bearer sessions in the API.
(Signing up itself, which answers the same for every address, is in test_registration.py.)"""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select, update

from discuss.extensions import db
from discuss.models import AuthorKind, ReaderSession, User, utcnow
from discuss.identity import readers
from discuss.models.queries import find_thread
from tests.factories import ORIGIN, bearer, make_comment, make_site
from tests.support.api import post_comment, read_thread, sign_up

PASSWORD = "correct horse battery"


@pytest.fixture
def app_config():
    return {"MAIL_ENABLED": False}


def register(client, email="ann@example.com", password=PASSWORD, name="Ann", **extra):
    return client.post("/api/v1/auth/register", json={"email": email, "password": password,
                                                      "display_name": name, **extra})


def login(client, email="ann@example.com", password=PASSWORD, **extra):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password, **extra})


def test_sign_in_returns_a_session_token_and_a_viewer_without_the_email(client, site):
    response = sign_up(client)
    body = response.get_json()
    assert body["token"].startswith("drs_") and body["token_type"] == "Bearer" and body["expires_at"]
    assert body["viewer"] == {"id": body["viewer"]["id"], "name": "Ann", "kind": "account", "avatar_url": None,
                              "has_email": True, "email_verified": True, "notify_replies": False,
                              "is_staff": False}
    assert "ann@example.com" not in response.get_data(as_text=True)
    user = db.session.get(User, body["viewer"]["id"])
    assert user.password_hash and PASSWORD not in user.password_hash
    stored = db.session.scalar(select(ReaderSession).where(ReaderSession.user_id == user.id))
    assert stored.token_hash != body["token"] and len(stored.token_hash) == 64


def unverified_account(email="ann@example.com") -> int:
    """An account from before sign-ups were confirmed by email: its address is not verified yet."""
    user = User(kind=AuthorKind.ACCOUNT, display_name="Ann", email=email, moderated_site_ids=[])
    db.session.add(user)
    db.session.commit()
    return user.id


@pytest.mark.parametrize("payload, field", [
    ({"email": "not-an-email"}, "email"),
    ({"password": "short"}, "password"),
    ({"name": "   "}, "display_name"),
])
def test_register_validates_each_field(client, site, payload, field):
    response = register(client, **payload)
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]


def test_register_from_a_site_that_does_not_accept_accounts_is_refused(client):
    make_site("news", allowed_identities=["guest", "sso"])
    response = register(client, site="news")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "identity_not_allowed"


def test_verification_link_confirms_the_email(client, site):
    user_id = unverified_account()
    token = readers.verification_token(db.session.get(User, user_id))
    response = client.get("/api/v1/auth/verify", query_string={"token": token})
    assert response.status_code == 200
    assert response.get_json()["viewer"]["email_verified"] is True
    assert db.session.get(User, user_id).email_verified is True


def test_verification_link_opened_in_a_browser_shows_a_page(client, site):
    user_id = unverified_account()
    token = readers.verification_token(db.session.get(User, user_id))
    response = client.get(f"/api/v1/auth/verify?token={token}", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "Email address confirmed" in response.get_data(as_text=True)
    bad = client.get("/api/v1/auth/verify?token=nope", headers={"Accept": "text/html"})
    assert bad.status_code == 400 and "did not work" in bad.get_data(as_text=True)


def test_tampered_verification_link_is_refused(client, site):
    user_id = unverified_account()
    token = readers.verification_token(db.session.get(User, user_id))
    response = client.get("/api/v1/auth/verify", query_string={"token": token[:-2] + "xx"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_link"
    assert db.session.get(User, user_id).email_verified is False


def test_expired_verification_link_is_refused(app, client, site):
    user_id = unverified_account()
    user = db.session.get(User, user_id)

    class ThreeDaysAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 3 * 86400

    old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=readers.VERIFY_SALT, signer=ThreeDaysAgo)
    token = old.dumps({"u": user.id, "e": user.email})
    response = client.get("/api/v1/auth/verify", query_string={"token": token})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "link_expired"


def test_login_with_the_right_password_issues_a_new_session(client, site):
    sign_up(client)
    response = login(client, email="Ann@Example.com")
    assert response.status_code == 200
    token = response.get_json()["token"]
    me = client.get("/api/v1/me", headers=bearer(token)).get_json()
    assert me["viewer"]["name"] == "Ann"


def test_login_with_a_wrong_password_or_unknown_email_gives_the_same_error(client, site):
    sign_up(client)
    wrong = login(client, password="wrong password here")
    unknown = login(client, email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"


def test_login_is_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATE_LIMIT_LOGIN="2/minute", MAIL_ENABLED=False)
    with app.app_context():
        client = app.test_client()
        codes = [login(client).status_code for _ in range(3)]
    assert codes == [401, 401, 429]


def test_logout_revokes_the_token(client, site):
    token = sign_up(client).get_json()["token"]
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).get_json() == {"signed_out": True}
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_token"
    assert post_comment(client, "After sign-out", token=token, name=None).status_code == 401


def test_an_expired_session_is_not_accepted(client, site):
    token = sign_up(client).get_json()["token"]
    db.session.execute(update(ReaderSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_a_session_token_is_not_a_moderation_api_token(client, site):
    token = sign_up(client).get_json()["token"]
    response = client.get("/api/v1/moderation/queues/pending", headers=bearer(token))
    assert response.status_code in (401, 403)


def test_change_password_keeps_this_session_and_signs_out_the_others(client, site):
    first = sign_up(client).get_json()["token"]
    second = login(client).get_json()["token"]
    response = client.post("/api/v1/me/password", headers=bearer(first),
                           json={"current_password": PASSWORD, "new_password": "a brand new secret"})
    assert response.status_code == 200
    assert client.get("/api/v1/me", headers=bearer(first)).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 401
    assert login(client).status_code == 401
    assert login(client, password="a brand new secret").status_code == 200


def test_change_password_needs_the_current_one(client, site):
    token = sign_up(client).get_json()["token"]
    response = client.post("/api/v1/me/password", headers=bearer(token),
                           json={"current_password": "not my password", "new_password": "a brand new secret"})
    assert response.status_code == 401
    assert login(client).status_code == 200


def test_reader_changes_display_name_and_opts_in_to_reply_emails(client, site):
    token = sign_up(client).get_json()["token"]
    response = client.patch("/api/v1/me", headers=bearer(token), json={"display_name": "Ann B.",
                                                                       "notify_replies": True})
    assert response.status_code == 200
    assert response.get_json()["viewer"]["name"] == "Ann B."
    assert response.get_json()["viewer"]["notify_replies"] is True
    refused = client.patch("/api/v1/me", headers=bearer(token), json={"notify_digest": True})
    assert refused.status_code == 403
    assert client.patch("/api/v1/me", headers=bearer(token), json={"email": "x@y.z"}).status_code == 400


def test_me_without_a_token_asks_to_sign_in(client, site):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "sign_in_required"


def test_account_posts_under_its_name_and_is_the_viewer_in_the_thread(client, site):
    token = sign_up(client).get_json()["token"]
    response = post_comment(client, "Signed in and posting.", token=token, name=None)
    assert response.status_code == 201
    body = response.get_json()
    assert body["comment"]["author"]["name"] == "Ann" and body["viewer"]["kind"] == "account"
    thread = read_thread(client, token=token).get_json()
    assert thread["viewer"]["name"] == "Ann"
    assert "ann@example.com" not in read_thread(client, token=token).get_data(as_text=True)


def test_account_edits_its_own_comment_and_not_others(client, site):
    token = sign_up(client).get_json()["token"]
    own = post_comment(client, "First draft.", token=token, name=None).get_json()["comment"]["id"]
    other = make_comment(find_thread(site.id, "article-1"))
    edited = client.patch(f"/api/v1/comments/{own}", headers=bearer(token), json={"body": "Second draft."})
    assert edited.status_code == 200 and "Second draft." in edited.get_json()["comment"]["html"]
    refused = client.patch(f"/api/v1/comments/{other.id}", headers=bearer(token), json={"body": "Mine now"})
    assert refused.status_code == 403


def test_site_that_only_takes_sso_refuses_an_account_post(client):
    make_site("news", allowed_identities=["sso"])
    user = User(kind=AuthorKind.ACCOUNT, display_name="Ann", email="ann@example.com", moderated_site_ids=[])
    db.session.add(user)
    db.session.commit()
    token = readers.start_session(user, "password").token
    response = post_comment(client, "Hello", token=token, name=None)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "identity_not_allowed"


def test_cors_origin_is_checked_when_a_site_is_named(client, site):
    sign_up(client, email="b@example.com")
    ok = client.post("/api/v1/auth/login", headers={"Origin": ORIGIN},
                     json={"email": "b@example.com", "password": PASSWORD, "site": "news"})
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    bad = client.post("/api/v1/auth/login", headers={"Origin": "https://evil.example"},
                      json={"email": "b@example.com", "password": PASSWORD, "site": "news"})
    assert bad.status_code == 403
