"""Publisher single sign-on: token verification, reader upsert, sessions, and the sso-secret command."""
from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from sqlalchemy import func, select

from discuss.extensions import db
from discuss.cli import discuss_cli
from discuss.models import AuthorKind, User
from tests.factories import make_site
from tests.support.api import post_comment, read_thread


pytestmark = pytest.mark.site(sso=True)


@pytest.fixture
def other_site(app):
    return make_site("sports", origins=["https://sports.example.com"], sso=True)


def claims(**overrides):
    base = {"sub": "subscriber-42", "name": "Pat Publisher", "email": "pat@news.example.com",
            "avatar": "https://news.example.com/avatars/42.png", "aud": "news",
            "iat": int(time.time()), "exp": int(time.time()) + 300}
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}


def sign(site, payload=None, secret=None, algorithm="HS256"):
    return jwt.encode(payload if payload is not None else claims(), secret or site.sso_secret, algorithm=algorithm)


def sso(client, token, slug="news"):
    return client.post("/api/v1/auth/sso", json={"site": slug, "token": token})


def error_code(response):
    return response.get_json()["error"]["code"]


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_valid_token_signs_the_reader_in_and_creates_an_sso_user(client, site):
    response = sso(client, sign(site))
    assert response.status_code == 200
    body = response.get_json()
    assert body["token"].startswith("drs_")
    assert body["viewer"]["kind"] == "sso" and body["viewer"]["name"] == "Pat Publisher"
    assert body["viewer"]["avatar_url"] == "https://news.example.com/avatars/42.png"
    assert "pat@news.example.com" not in response.get_data(as_text=True)
    user = db.session.get(User, body["viewer"]["id"])
    assert (user.kind, user.sso_site_id, user.external_id) == (AuthorKind.SSO, site.id, "subscriber-42")
    assert user.email == "pat@news.example.com" and user.email_verified


def test_signing_in_again_updates_the_same_reader(client, site):
    first = sso(client, sign(site)).get_json()["viewer"]["id"]
    second = sso(client, sign(site, claims(name="Pat P.", email=None, avatar=None))).get_json()["viewer"]
    assert second["id"] == first and second["name"] == "Pat P." and second["avatar_url"] is None
    assert db.session.scalar(select(func.count(User.id)).where(User.kind == AuthorKind.SSO)) == 1
    assert db.session.get(User, first).email is None


def test_a_site_claim_works_instead_of_aud(client, site):
    assert sso(client, sign(site, claims(aud=None, site="news"))).status_code == 200


def test_same_user_id_on_two_sites_is_two_readers(client, site, other_site):
    a = sso(client, sign(site)).get_json()["viewer"]["id"]
    b = sso(client, sign(other_site, claims(aud="sports")), slug="sports").get_json()["viewer"]["id"]
    assert a != b


def test_expired_token_is_refused(client, site):
    response = sso(client, sign(site, claims(iat=int(time.time()) - 600, exp=int(time.time()) - 120)))
    assert response.status_code == 401
    assert error_code(response) == "sso_token_expired"


def test_token_replayed_after_expiry_is_refused(make_app):
    app = make_app(SSO_LEEWAY_SECONDS=0)
    with app.app_context():
        site = make_site("news", sso=True)
        client = app.test_client()
        token = sign(site, claims(exp=int(time.time()) + 1))
        assert sso(client, token).status_code == 200
        time.sleep(2.1)
        replay = sso(client, token)
    assert replay.status_code == 401 and error_code(replay) == "sso_token_expired"


def test_tampered_token_is_refused(client, site):
    header, _payload, signature = sign(site).split(".")
    forged = ".".join([header, _b64(claims(sub="admin", name="Someone Else")), signature])
    response = sso(client, forged)
    assert response.status_code == 401
    assert error_code(response) == "sso_bad_signature"


def test_token_signed_with_another_sites_secret_is_refused(client, site, other_site):
    response = sso(client, sign(site, claims(aud="news"), secret=other_site.sso_secret))
    assert response.status_code == 401
    assert error_code(response) == "sso_bad_signature"


def test_token_issued_for_another_site_is_refused(client, site, other_site):
    # Same secret on purpose: only the audience tells the sites apart.
    other_site.sso_secret = site.sso_secret
    db.session.commit()
    response = sso(client, sign(site, claims(aud="sports")))
    assert response.status_code == 401
    assert error_code(response) == "sso_wrong_site"


@pytest.mark.parametrize("missing", ["sub", "name", "exp", "aud"])
def test_token_missing_a_required_claim_is_refused(client, site, missing):
    payload = claims()
    del payload[missing]
    response = sso(client, sign(site, payload))
    assert response.status_code == 400
    assert error_code(response) == "sso_missing_claims"
    assert missing in response.get_json()["error"]["fields"]


def test_algorithm_none_is_refused(client, site):
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims())}."
    response = sso(client, unsigned)
    assert response.status_code == 401
    assert error_code(response) == "sso_algorithm_not_allowed"


@pytest.mark.parametrize("algorithm", ["HS512", "HS384"])
def test_other_hmac_algorithms_are_refused(client, site, algorithm):
    response = sso(client, sign(site, algorithm=algorithm))
    assert response.status_code == 401
    assert error_code(response) == "sso_algorithm_not_allowed"


def test_asymmetric_algorithm_header_is_refused_without_key_confusion(client, site):
    # An RS256 header "signed" with the shared secret must not be checked as if it were HMAC.
    forged = f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(claims())}.c2lnbmF0dXJl"
    response = sso(client, forged)
    assert response.status_code == 401
    assert error_code(response) == "sso_algorithm_not_allowed"


def test_token_valid_for_too_long_is_refused(client, site):
    response = sso(client, sign(site, claims(exp=int(time.time()) + 30 * 86400)))
    assert response.status_code == 401
    assert error_code(response) == "sso_token_lifetime_too_long"


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c"])
def test_garbage_token_is_a_clear_error(client, site, token):
    response = sso(client, token)
    assert response.status_code == 400
    assert error_code(response) in ("validation_failed", "sso_token_malformed")


def test_bad_optional_claims_are_named(client, site):
    response = sso(client, sign(site, claims(email="nope", avatar="javascript:alert(1)")))
    assert response.status_code == 400
    assert set(response.get_json()["error"]["fields"]) == {"email", "avatar"}


def test_site_without_a_secret_or_not_accepting_sso_is_refused(client):
    make_site("news")
    assert error_code(sso(client, "x.y.z")) == "sso_not_configured"
    closed = make_site("closed", allowed_identities=["guest"], sso=True)
    response = sso(client, sign(closed, claims(aud="closed")), slug="closed")
    assert response.status_code == 403 and error_code(response) == "identity_not_allowed"


def test_sso_reader_posts_under_the_publishers_name_and_is_the_viewer(client, site):
    token = sso(client, sign(site)).get_json()["token"]
    response = post_comment(client, "Posting as a subscriber.", token=token, name=None)
    assert response.status_code == 201
    assert response.get_json()["comment"]["author"]["name"] == "Pat Publisher"
    thread = read_thread(client, token=token)
    viewer = thread.get_json()["viewer"]
    assert (viewer["id"], viewer["name"], viewer["kind"]) == (response.get_json()["viewer"]["id"], "Pat Publisher", "sso")
    assert set(viewer) == {"id", "name", "kind", "avatar_url"}
    assert "pat@news.example.com" not in thread.get_data(as_text=True)


def test_sso_reader_cannot_rename_themselves_here(client, site):
    token = sso(client, sign(site)).get_json()["token"]
    response = client.patch("/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                            json={"display_name": "Impostor"})
    assert response.status_code == 403
    assert error_code(response) == "managed_by_publisher"


def _cli(app):
    group = discuss_cli
    return lambda *args: app.test_cli_runner().invoke(group, list(args))


def test_sso_secret_command_shows_once_and_rotates(app, client):
    site = make_site("news")
    run = _cli(app)
    created = run("sso-secret", "news")
    assert created.exit_code == 0
    secret = created.output.strip().splitlines()[-1]
    db.session.refresh(site)
    assert site.sso_secret == secret and len(secret) >= 43
    again = run("sso-secret", "news")
    assert again.exit_code != 0 and "--rotate" in again.output
    old_token = sign(site)
    rotated = run("sso-secret", "news", "--rotate")
    assert rotated.exit_code == 0 and secret not in rotated.output
    assert error_code(sso(client, old_token)) == "sso_bad_signature"
    assert run("sso-secret", "nope").exit_code != 0
