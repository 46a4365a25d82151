"""HTTP caching of public reads: ETags, 304s, Cache-Control and Vary, and the guard that keeps every
answer to a caller with credentials private (issue 19)."""
from __future__ import annotations

import pytest

from discuss.comments import reading
from discuss.errors import ValidationFailed
from discuss.extensions import db
from discuss.models.settings import clean_settings
from tests.dashboard_support import sign_in
from tests.factories import ORIGIN, bearer, make_comment, make_site, make_thread, make_user
from tests.test_dashboard_queues import settings_form

THREAD = "/api/v1/comments?site=news&article=article-1"
COUNTS = "/api/v1/counts?site=news&article=article-1&article=quiet"


def vary(response) -> set[str]:
    return {v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()}


def refuse_to_build(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the page was built")
    monkeypatch.setattr(reading, "build_page", fail)
    monkeypatch.setattr(reading, "read_thread", fail)


@pytest.fixture
def thread(app):
    site = make_site(cache_max_age_seconds=42)
    thread = make_thread(site)
    make_comment(thread, body="First!")
    return thread


def test_an_anonymous_thread_page_is_public_for_the_sites_max_age_with_a_strong_etag(client, thread):
    response = client.get(THREAD)
    assert response.status_code == 200 and "First!" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "public, max-age=42, stale-while-revalidate=30"
    etag = response.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert {"Origin", "Authorization"} <= vary(response)
    assert "Cookie" not in vary(response) and "Set-Cookie" not in response.headers
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]  # security headers stay


def test_if_none_match_answers_304_without_building_the_page(client, thread, monkeypatch):
    etag = client.get(THREAD).headers["ETag"]
    refuse_to_build(monkeypatch)
    again = client.get(THREAD, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"].startswith("public, max-age=42")
    weakened = client.get(THREAD, headers={"If-None-Match": "W/" + etag})  # as a compressing proxy sends it
    assert weakened.status_code == 304


def test_the_etag_changes_with_everything_the_bytes_depend_on(client, thread):
    first = client.get(THREAD)
    assert client.get(THREAD).headers["ETag"] == first.headers["ETag"]
    etags = {first.headers["ETag"]}
    for params in ("&sort=newest", "&limit=1", "&sort=top"):
        etags.add(client.get(THREAD + params).headers["ETag"])
    assert len(etags) == 4
    make_comment(thread, body="Second")  # a new comment bumps the revision
    after_post = client.get(THREAD)
    assert after_post.headers["ETag"] not in etags and "Second" in after_post.get_data(as_text=True)
    thread.title = "Renamed"
    db.session.commit()
    renamed = client.get(THREAD)
    assert renamed.headers["ETag"] != after_post.headers["ETag"]
    thread.site.settings = {**thread.site.settings, "max_depth": 1}  # the page carries public settings
    db.session.commit()
    assert client.get(THREAD).headers["ETag"] != renamed.headers["ETag"]


def test_every_process_gives_the_same_etag(make_app, client, thread):
    other = make_app()  # a second app on the same database: another worker or machine
    with other.app_context():
        theirs = other.test_client().get(THREAD)
    ours = client.get(THREAD)
    assert theirs.headers["ETag"] == ours.headers["ETag"] and theirs.data == ours.data


def test_a_reader_with_a_token_gets_a_private_answer(client, thread):
    reader = make_user()
    response = client.get(THREAD, headers=bearer(reader))
    assert response.status_code == 200 and response.get_json()["viewer"]["id"] == reader.id
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Authorization" in vary(response)


def test_a_token_that_is_not_valid_still_gets_a_private_answer(client, thread):
    """The view serves the public page to an unknown token; the guard keeps it private anyway."""
    response = client.get(THREAD, headers={"Authorization": "Bearer expired-or-forged"})
    assert response.status_code == 200 and "viewer" not in response.get_json()
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "public" not in response.headers["Cache-Control"]


def test_a_staff_session_is_never_answered_publicly(client, thread):
    staff = make_user("Mo")
    sign_in(client, staff)
    response = client.get(THREAD)
    assert response.headers["Cache-Control"] == "private, no-store" and "Cookie" in vary(response)
    assert client.get(COUNTS).headers["Cache-Control"] == "private, no-store"


def test_counts_are_a_cacheable_get_with_the_same_answer_as_the_post(client, thread):
    response = client.get(COUNTS)
    posted = client.post("/api/v1/counts", json={"site": "news", "articles": ["article-1", "quiet"]})
    assert response.get_json() == posted.get_json() == {"counts": {"article-1": 1, "quiet": 0}}
    assert response.headers["Cache-Control"] == "public, max-age=42, stale-while-revalidate=30"
    assert {"Origin", "Authorization"} <= vary(response)
    again = client.get(COUNTS, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    make_comment(thread)
    assert client.get(COUNTS, headers={"If-None-Match": response.headers["ETag"]}).get_json()["counts"][
        "article-1"] == 2


def test_counts_with_a_token_are_private(client, thread):
    response = client.get(COUNTS, headers={"Authorization": "Bearer anything"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("query", ["?site=news", "?article=a", "?site=news&" + "&".join(["article=a"] * 101),
                                   "?site=nope&article=a"])
def test_bad_count_requests_are_4xx_and_never_cached(client, thread, query):
    response = client.get("/api/v1/counts" + query)
    assert 400 <= response.status_code < 500 and "public" not in response.headers.get("Cache-Control", "")


def test_max_age_zero_asks_caches_to_check_every_time(client, app):
    make_thread(make_site(cache_max_age_seconds=0))
    response = client.get(THREAD)
    assert response.headers["Cache-Control"] == "public, no-cache" and response.headers["ETag"]


def test_the_default_max_age_is_ten_seconds(client, app):
    make_site()
    assert client.get(THREAD).headers["Cache-Control"] == "public, max-age=10, stale-while-revalidate=30"


@pytest.mark.parametrize("value", [-1, 3601, "10", True, 2.5, None])
def test_cache_max_age_must_be_whole_seconds_up_to_an_hour(value):
    with pytest.raises(ValidationFailed):
        clean_settings({"cache_max_age_seconds": value})
    assert clean_settings({"cache_max_age_seconds": 0}) == {"cache_max_age_seconds": 0}
    assert clean_settings({"cache_max_age_seconds": 3600}) == {"cache_max_age_seconds": 3600}


@pytest.mark.signed_in("admin")
def test_the_settings_page_sets_the_max_age(client, world):
    assert 'name="cache_max_age_seconds"' in client.get("/mod/sites/news/settings").get_data(as_text=True)
    assert client.post("/mod/sites/news/settings", data=settings_form(cache_max_age_seconds="60")).status_code == 302
    refused = client.post("/mod/sites/news/settings", data=settings_form(cache_max_age_seconds="9999"))
    assert refused.status_code == 200 and "field-error" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert world.site.effective_settings()["cache_max_age_seconds"] == 60
    sign_in(client, None)
    assert client.get("/api/v1/comments?site=news&article=budget-vote").headers["Cache-Control"].startswith(
        "public, max-age=60,")


def test_an_allowed_origin_gets_its_cors_header_on_the_public_page(client, thread):
    response = client.get(THREAD, headers={"Origin": ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN and "Origin" in vary(response)
    assert client.get(THREAD, headers={"Origin": "https://evil.example"}).status_code == 403
