"""Cross-origin rules, security headers, and rate limits on posting."""
from discuss.extensions import db
from tests.factories import ORIGIN, make_site
from tests.support.api import post_comment, read_thread


def test_allowed_origin_gets_cors_headers(client, app):
    make_site()
    response = client.get(
        "/api/v1/comments", query_string={"site": "news", "article": "a"}, headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in response.headers["Vary"]


def test_other_origin_is_refused(client, app):
    make_site()
    response = client.post("/api/v1/comments", headers={"Origin": "https://evil.example"},
                           json={"site": "news", "article": "a", "body": "hi", "author_name": "x"})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight_answers_only_known_origins(client, app):
    make_site()
    ok = client.options("/api/v1/comments", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert ok.status_code == 204 and ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Authorization" in ok.headers["Access-Control-Allow-Headers"]
    bad = client.options("/api/v1/comments", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in bad.headers


def test_every_response_has_strict_csp(client, app):
    make_site()
    csp = read_thread(client).headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp


def test_posting_is_rate_limited_per_ip_with_json_429(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATE_LIMIT_POST_PER_IP="3/minute", RATE_LIMIT_POST_PER_AUTHOR="100/minute")
    with app.app_context():
        make_site()
        client = app.test_client()
        statuses = [post_comment(client, f"comment {i}", name=f"N{i}").status_code for i in range(4)]
        assert statuses == [201, 201, 201, 429]
        limited = post_comment(client, "one more", name="Z")
        assert limited.json["error"]["code"] == "rate_limited"
        db.session.remove()


def test_posting_is_rate_limited_per_author(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATE_LIMIT_POST_PER_IP="100/minute", RATE_LIMIT_POST_PER_AUTHOR="2/minute")
    with app.app_context():
        make_site()
        client = app.test_client()
        assert post_comment(client, "one", name="Ann").status_code == 201
        token = post_comment(client, "two", name="Ann").json["author_token"]
        assert post_comment(client, "three", name="Ann").status_code == 429
        assert post_comment(client, "three", token=token).status_code == 201
        assert post_comment(client, "four", token=token).status_code == 201
        assert post_comment(client, "five", token=token).status_code == 429
        assert post_comment(client, "from someone else", name="Bob").status_code == 201
        db.session.remove()


def test_rate_limits_are_shared_through_redis_across_processes(make_app, redis_url):
    # Two app instances stand in for two gunicorn workers (or machines) sharing one Redis.
    settings = dict(RATELIMIT_ENABLED=True, REDIS_URL=redis_url, RATE_LIMIT_POST_PER_IP="2/minute",
                    RATE_LIMIT_POST_PER_AUTHOR="100/minute")
    first, second = make_app(**settings), make_app(**settings)
    assert first.config["RATELIMIT_STORAGE_URI"] == redis_url
    with first.app_context():
        make_site()
        assert post_comment(first.test_client(), "from worker one", name="A").status_code == 201
        db.session.remove()
    with second.app_context():
        assert post_comment(second.test_client(), "from worker two", name="B").status_code == 201
        assert post_comment(second.test_client(), "third overall", name="C").status_code == 429
        db.session.remove()
