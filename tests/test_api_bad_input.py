"""Every kind of bad input gets a clear 4xx in one error shape and writes nothing."""
import pytest
from sqlalchemy import func, select

from discuss.extensions import db
from discuss.models import Comment, Thread, User
from tests.factories import make_comment, make_site, make_thread
from tests.support.api import DEFAULT_POST, post_comment, read_thread


def _nothing_written():
    return all(db.session.scalar(select(func.count(model.id))) == 0 for model in (Comment, Thread, User))


@pytest.mark.parametrize("payload, code, field", [
    ({"body": "x" * 10_001}, "validation_failed", "body"),
    ({"body": "   \n\t "}, "validation_failed", "body"),
    ({"body": ""}, "validation_failed", "body"),
    ({"body": 42}, "validation_failed", "body"),
    ({"body": "ok", "parent_id": "1"}, "validation_failed", "parent_id"),
    ({"body": "ok", "parent_id": True}, "validation_failed", "parent_id"),
    ({"body": "ok", "acknowledge_warning": "yes"}, "validation_failed", "acknowledge_warning"),
    ({"body": "ok", "author_name": "n" * 65}, "validation_failed", "author_name"),
    ({"body": "ok", "author_name": "\u200b\u200b"}, "validation_failed", "author_name"),
    ({"body": "ok", "author_name": None}, "validation_failed", "author_name"),
    ({"body": "ok", "author_email": "not-an-email"}, "validation_failed", "author_email"),
    ({"body": "ok", "article_url": "javascript:alert(1)"}, "validation_failed", "article_url"),
    ({"body": "ok", "is_admin": True}, "validation_failed", "is_admin"),
    ({"body": "ok", "parent_id": 999}, "validation_failed", "parent_id"),
    ({"body": "ok", "article": "\u0006\u200b"}, "validation_failed", "article"),
])
def test_invalid_fields_are_named_and_nothing_is_written(client, app, payload, code, field):
    make_site()
    body = {**DEFAULT_POST, "author_name": "Ann", **payload}
    response = client.post("/api/v1/comments", json=body)
    assert response.status_code == 400
    assert response.json["error"]["code"] == code
    assert field in response.json["error"]["fields"]
    assert response.json["error"]["message"]
    assert _nothing_written()


def test_body_limit_counts_characters_after_trimming(client, app):
    make_site()
    assert post_comment(client, "  " + "x" * 10_000 + "  \n").status_code == 201


def test_missing_required_fields_are_all_listed(client, app):
    make_site()
    response = client.post("/api/v1/comments", json={})
    assert set(response.json["error"]["fields"]) == {"site", "article", "body"}


def test_malformed_json_is_rejected(client, app):
    make_site()
    response = client.post("/api/v1/comments", data="{not json", content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_json"
    array = client.post("/api/v1/comments", json=[1, 2])
    assert array.status_code == 400 and array.json["error"]["code"] == "invalid_json"


def test_non_json_body_is_rejected_with_415(client, app):
    make_site()
    response = client.post("/api/v1/comments", data={"body": "x"})
    assert response.status_code == 415
    assert response.json["error"]["code"] == "unsupported_media_type"
    assert _nothing_written()


def test_unknown_site_is_404(client, app):
    response = post_comment(client, "Hi", site="nope")
    assert response.status_code == 404 and response.json["error"]["code"] == "unknown_site"
    assert read_thread(client, site="nope").status_code == 404


def test_honeypot_filled_is_refused(client, app):
    make_site()
    response = post_comment(client, "Buy now", website="http://spam.example")
    assert response.status_code == 400 and response.json["error"]["code"] == "rejected_as_spam"
    assert _nothing_written()


def test_duplicate_post_within_minutes_is_refused(client, app):
    make_site()
    token = post_comment(client, "Same words").json["author_token"]
    again = post_comment(client, "Same words", token=token)
    assert again.status_code == 409 and again.json["error"]["code"] == "duplicate_comment"
    anonymous_again = post_comment(client, "Same words")
    assert anonymous_again.status_code == 409
    assert db.session.scalar(select(func.count(Comment.id))) == 1


@pytest.mark.parametrize("params, field", [({"sort": "random"}, "sort"), ({"limit": "0"}, "limit"),
                                           ({"limit": "201"}, "limit"), ({"limit": "ten"}, "limit"),
                                           ({"site": ""}, "site"), ({"article": ""}, "article")])
def test_bad_read_parameters(client, app, params, field):
    make_site()
    response = read_thread(client, **params)
    assert response.status_code == 400 and field in response.json["error"]["fields"]


def test_bad_cursor_is_400(client, app):
    make_site()
    make_comment(make_thread(make_site("other")))
    response = read_thread(client, cursor="garbage!")
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize("payload", [{"value": 2}, {"value": True}, {"value": "1"}, {}, {"value": 1, "x": 1}])
def test_bad_votes_are_refused(client, app, payload):
    comment = make_comment(make_thread(make_site()))
    response = client.post(f"/api/v1/comments/{comment.id}/votes", json=payload)
    assert response.status_code == 400


@pytest.mark.parametrize("payload", [{"reason": "boring"}, {}, {"reason": "spam", "note": "x" * 1001}])
def test_bad_reports_are_refused(client, app, payload):
    comment = make_comment(make_thread(make_site()))
    response = client.post(f"/api/v1/comments/{comment.id}/reports", json=payload)
    assert response.status_code == 400


def test_votes_and_reports_on_missing_comment_are_404(client, app):
    make_site()
    assert client.post("/api/v1/comments/999/votes", json={"value": 1}).status_code == 404
    assert client.post("/api/v1/comments/999/reports", json={"reason": "spam"}).status_code == 404


@pytest.mark.parametrize("payload", [{"site": "news"}, {"site": "news", "articles": []},
                                     {"site": "news", "articles": [1]}, {"site": "news", "articles": ["a"] * 101}])
def test_bad_counts_requests(client, app, payload):
    make_site()
    assert client.post("/api/v1/counts", json=payload).status_code == 400


def test_unknown_route_is_json_404(client, app):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_a_malformed_address_asking_for_a_password_reset_is_refused(client, app):
    # The fuzzer's case: the description says email is an address; the answer must not say 202.
    for address in ("\u0010\u008a\u0015", "not-an-address"):
        response = client.post("/api/v1/auth/password/forgot", json={"email": address})
        assert response.status_code == 400
        assert list(response.json["error"]["fields"]) == ["email"]
    assert client.post("/api/v1/auth/password/forgot", json={"email": "nobody@example.org"}).status_code == 202
