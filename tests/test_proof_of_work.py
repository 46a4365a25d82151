"""Proof of work for posting (issue 15): ALTCHA challenges from the service, solved by the
client, checked once; the site setting says who must solve one."""
from __future__ import annotations

import pytest
from altcha import Challenge, Payload, solve_challenge
from sqlalchemy import func, select

from discuss.extensions import db
from discuss.models import Comment
from tests.factories import make_site, make_user, token_for
from tests.support.api import post_comment, sign_up


@pytest.fixture
def app(make_app):
    app = make_app(ALTCHA_COST=20)
    with app.app_context():
        yield app


def solved(client) -> str:
    challenge = Challenge.from_dict(client.get("/api/v1/challenge").get_json())
    return Payload(challenge, solve_challenge(challenge)).to_base64()


def comments() -> int:
    return db.session.scalar(select(func.count(Comment.id)))


def test_off_by_default(client, app):
    make_site()
    assert post_comment(client, "No puzzle needed").status_code == 201


def test_everyone_must_solve_a_fresh_challenge_once(client, app):
    make_site(proof_of_work="everyone")
    missing = post_comment(client, "No proof")
    assert missing.status_code == 400 and missing.get_json()["error"]["code"] == "proof_of_work_required"
    payload = solved(client)
    assert post_comment(client, "With proof", altcha=payload).status_code == 201
    replay = post_comment(client, "Same proof again", name="Bo", altcha=payload)
    assert replay.status_code == 400 and replay.get_json()["error"]["code"] == "proof_of_work_invalid"
    forged = post_comment(client, "Forged", name="Cy", altcha=payload[:-8] + "AAAAAAAA")
    assert forged.status_code == 400 and forged.get_json()["error"]["code"] == "proof_of_work_invalid"
    assert post_comment(client, "Junk", name="Di", altcha="not base64 at all").status_code == 400
    assert comments() == 1


def test_a_challenge_signed_with_another_key_is_refused(client, app, make_app):
    make_site(proof_of_work="everyone")
    from altcha import create_challenge

    foreign = create_challenge("SHA-256", 20, hmac_secret="someone else's key")
    payload = Payload(foreign, solve_challenge(foreign)).to_base64()
    assert post_comment(client, "Foreign proof", altcha=payload).get_json()["error"]["code"] == "proof_of_work_invalid"


def test_guests_mode_spares_signed_in_readers(client, app):
    make_site(proof_of_work="guests")
    assert post_comment(client, "Guest without proof").status_code == 400
    registered = sign_up(client)
    token = registered.get_json()["token"]
    assert post_comment(client, "Account without proof", token=token, name=None).status_code == 201
    returning_guest = make_user("Gus")
    response = client.post("/api/v1/comments", headers=token_for(returning_guest), json={
        "site": "news", "article": "article-1", "body": "Returning guest", "author_name": "Gus"})
    assert response.status_code == 400


def test_the_widget_learns_the_setting_from_the_thread(client, app):
    make_site(proof_of_work="guests")
    body = client.get("/api/v1/comments", query_string={"site": "news", "article": "a"}).get_json()
    assert body["settings"]["proof_of_work"] == "guests"
