"""No 500 on any input (issue 15): each class of malformed input found in the attack review gets
a 4xx in the one error shape, and nothing is written."""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import time

import pytest
from sqlalchemy import func, select

from discuss.extensions import db
from discuss.identity.sso import set_sso_secret
from discuss.models import Comment, ModerationEvent, ReaderSession, Report, Thread, User, Vote
from tests.dashboard_support import make_staff, sign_in
from tests.factories import make_comment, make_site, make_thread
from tests.support.api import DEFAULT_POST

MODELS = (Comment, Thread, User, Vote, Report, ReaderSession, ModerationEvent)


def counts() -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count(m.id))) for m in MODELS}


def assert_error_shape(response, status: int | None = None) -> dict:
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])
    if status is not None:
        assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] and error["message"]
    return error


@pytest.fixture
def world(app):
    site = make_site()
    thread = make_thread(site)
    comment = make_comment(thread)
    return {"site": site, "thread": thread, "comment": comment}


def post_raw(client, path: str, text: str, method: str = "post"):
    return getattr(client, method)(path, data=text.encode("utf-8", "surrogatepass"), content_type="application/json")


DEEP = "[" * 50_000 + "]" * 50_000
BODIES = {
    "deep nesting": DEEP,
    "deep nesting inside an object": '{"site": ' + "[" * 40 + "]" * 40 + "}",
    "lone surrogate in a string": '{"site": "news", "article": "a", "body": "\\ud800 hi", "author_name": "Ann"}',
    "lone surrogate in a key": '{"\\udfff": 1}',
    "NUL in a string": '{"site": "news", "article": "a\\u0000b", "body": "hi", "author_name": "Ann"}',
    "integer beyond 64 bits": '{"site": "news", "article": "a", "body": "hi", "parent_id": 123456789012345678901234567890}',
    "NaN": '{"site": "news", "article": "a", "body": "hi", "parent_id": NaN}',
    "id past 32 bits": '{"site": "news", "article": "a", "body": "hi", "parent_id": 2147483648, "value": 1, '
                       '"reason": "spam", "articles": ["a"], "email": "a@b.cc", "password": "x", "display_name": "A"}',
    "huge float": '{"site": "news", "article": "a", "body": "hi", "parent_id": 1e999}',
}


@pytest.mark.parametrize("name", list(BODIES))
def test_malformed_json_bodies_are_400_and_write_nothing(client, world, name):
    before = counts()
    for path in ("/api/v1/comments", "/api/v1/counts", "/api/v1/auth/register",
                 f"/api/v1/comments/{world['comment'].id}/votes", f"/api/v1/comments/{world['comment'].id}/reports"):
        assert_error_shape(post_raw(client, path, BODIES[name]), 400)
    assert counts() == before


@pytest.mark.parametrize("path", [
    "/api/v1/comments/123456789012345678901234567890/votes",
    "/api/v1/comments/9223372036854775808/reports",
    "/api/v1/comments/2147483648/votes",  # past PostgreSQL's 32-bit INTEGER ids
])
def test_ids_beyond_64_bits_in_paths_are_404(client, world, path):
    before = counts()
    assert_error_shape(client.post(path, json={"value": 1}), 404)
    assert_error_shape(client.patch(path.rsplit("/", 1)[0], json={"body": "x"}), 404)
    assert counts() == before


def test_moderation_api_ids_and_bodies(app, world):
    admin = make_staff("chief@example.com")
    admin.role = admin.role.ADMIN
    db.session.commit()
    client = app.test_client()
    sign_in(client, admin)
    before = counts()
    assert_error_shape(client.get("/api/v1/moderation/comments/99999999999999999999999"), 404)
    assert_error_shape(post_raw(client, "/api/v1/moderation/bulk",
                                '{"ids": [99999999999999999999999], "action": "approve"}'), 400)
    for field, value in (("reason", ["spam"]), ("note", {"x": 1}), ("action", 5), ("reject_pending", "yes")):
        body = {"action": "reject", "site": "news", field: value}
        assert_error_shape(client.post(f"/api/v1/moderation/comments/{world['comment'].id}/actions", json=body), 400)
        assert_error_shape(client.post(f"/api/v1/moderation/authors/{world['comment'].author_id}/ban", json=body), 400)
    for query in ("page=²", "page=99999999999999999999999", "thread=١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠١", "author=-",
                  "thread=2147483648"):
        assert_error_shape(client.get(f"/api/v1/moderation/queues/pending?{query}"), 400)
    for query in ("page=²", "comment=99999999999999999999999", "comment=2147483648"):
        assert_error_shape(client.get(f"/api/v1/moderation/audit?{query}"), 400)
    assert counts() == before


@pytest.mark.parametrize("query", ["limit=²", "limit=١٠", "limit=99999999999999999999999", "limit=-1",
                                   "site=news%00&article=a", "article=a%00b"])
def test_bad_query_parameters_are_400(client, world, query):
    params = "site=news&article=article-1&" + query if not query.startswith("site=") else query
    assert_error_shape(client.get(f"/api/v1/comments?{params}"), 400)


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    _cursor(["oldest", 0, 0, 10**30]),
    _cursor(["oldest", 0, -10**30, 1]),
    _cursor(["oldest", 0, 0, 2**31]),
    base64.urlsafe_b64encode(b"[" * 3000).decode(),
    "%%%%",
    _cursor({"a": 1, "b": 2, "c": 3, "d": 4}),
])
def test_bad_cursors_are_400(client, world, cursor):
    error = assert_error_shape(client.get("/api/v1/comments", query_string={
        "site": "news", "article": "article-1", "cursor": cursor}), 400)
    assert error["code"] == "invalid_cursor"


def test_request_body_over_the_limit_is_refused_before_it_is_read(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1000)
    with app.app_context():
        make_site()
        client = app.test_client()
        read = []

        class Body(io.BytesIO):
            """A body that records whether anyone read it."""
            def read(self, *args):
                read.append(args)
                return super().read(*args)

        response = client.post("/api/v1/comments", input_stream=Body(b"[" * 5000),
                               headers={"Content-Type": "application/json", "Content-Length": "50000000"})
        error = assert_error_shape(response, 413)
        assert error["code"] == "payload_too_large" and not read
        assert assert_error_shape(client.post("/api/v1/comments", json={**DEFAULT_POST, "body": "x" * 2000}),
                                  413)["code"] == "payload_too_large"


def _signed(secret: str, payload_json: str) -> str:
    b64 = lambda s: base64.urlsafe_b64encode(s.encode()).rstrip(b"=")  # noqa: E731
    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT"})) + b"." + b64(payload_json)
    signature = base64.urlsafe_b64encode(hmac.new(secret.encode(), signing_input, hashlib.sha256).digest())
    return (signing_input + b"." + signature.rstrip(b"=")).decode()


@pytest.mark.parametrize("claim, raw_value", [
    ("sub", '"\\ud800"'), ("name", '"\\udc00Ann"'), ("sub", '"a\\u0000b"'), ("name", '"A\\u0000"'),
    ("email", '"x@y\\u0000.com"'), ("avatar", '"https://a\\u0000"'), ("sub", "[1, 2]"), ("name", '{"a": 1}'),
    ("exp", '"soon"'), ("exp", "NaN"), ("iat", '"x"'), ("email", "5"), ("aud", '{"a": 1}'),
])
def test_wrongly_typed_sso_claims_in_a_validly_signed_token(client, app, claim, raw_value):
    site = make_site()
    secret = set_sso_secret(site)
    claims = {"sub": "u1", "name": "Ann", "exp": int(time.time()) + 600, "aud": "news"}
    claims.pop(claim, None)
    token = _signed(secret, json.dumps(claims)[:-1] + f', "{claim}": {raw_value}' + "}")
    before = counts()
    assert_error_shape(client.post("/api/v1/auth/sso", json={"site": "news", "token": token}))
    assert counts() == before
