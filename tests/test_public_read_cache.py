"""The per-process cache in front of Flask for repeated anonymous reads (discuss.api.caching.PublicReads):
what it answers from memory, and what it must never answer (issue 19)."""
from __future__ import annotations

import pytest

from discuss.comments import reading
from tests.factories import ORIGIN, bearer, make_comment, make_site, make_thread, make_user
from tests.support.api import post_comment

THREAD = "/api/v1/comments?site=news&article=article-1"


@pytest.fixture
def app_config():
    return {"PUBLIC_READ_CACHE_SECONDS": 60.0}


@pytest.fixture
def lookups(monkeypatch):
    """How many requests reached the view (each looks the thread up once)."""
    calls = []
    original = reading.thread_and_site

    def counted(*args):
        calls.append(args)
        return original(*args)
    monkeypatch.setattr(reading, "thread_and_site", counted)
    return calls


@pytest.fixture
def thread(app):
    thread = make_thread(make_site())
    make_comment(thread, body="First!")
    return thread


def test_a_repeated_anonymous_read_is_answered_from_memory_with_the_same_bytes_and_headers(client, thread, lookups):
    first = client.get(THREAD)
    second = client.get(THREAD)
    assert len(lookups) == 1
    assert second.data == first.data and second.status_code == 200
    for header in ("ETag", "Content-Security-Policy", "Vary", "Content-Type"):
        assert second.headers[header] == first.headers[header]
    assert second.headers["Cache-Control"].startswith("public, max-age=")  # less its age (test below)
    not_modified = client.get(THREAD, headers={"If-None-Match": first.headers["ETag"]})
    assert not_modified.status_code == 304 and not_modified.data == b"" and len(lookups) == 1
    assert not_modified.headers["ETag"] == first.headers["ETag"]


def test_a_write_through_this_process_is_seen_by_the_next_read(client, thread, lookups):
    client.get(THREAD)
    assert post_comment(client, "Just posted").status_code == 201
    assert "Just posted" in client.get(THREAD).get_data(as_text=True)


def test_the_counts_get_is_kept_too(client, thread, lookups, monkeypatch):
    url = "/api/v1/counts?site=news&article=article-1"
    first = client.get(url)
    from discuss.api import counts
    monkeypatch.setattr(counts, "published_counts", lambda *a: pytest.fail("counted again"))
    assert client.get(url).get_json() == first.get_json() == {"counts": {"article-1": 1}}


def test_a_request_with_a_token_or_the_session_cookie_always_reaches_flask(client, thread, lookups):
    client.get(THREAD)  # kept for anonymous readers
    reader = make_user()
    mine = client.get(THREAD, headers=bearer(reader))
    assert mine.get_json()["viewer"]["id"] == reader.id and mine.headers["Cache-Control"] == "private, no-store"
    client.set_cookie("session", "anything")
    assert client.get(THREAD).headers["Cache-Control"] == "private, no-store"
    assert len(lookups) == 3


def test_a_private_answer_is_never_kept_for_the_next_reader(client, thread, lookups):
    client.get(THREAD, headers={"Authorization": "Bearer not-valid"})  # private: not kept
    anonymous = client.get(THREAD)
    assert anonymous.headers["Cache-Control"].startswith("public") and len(lookups) == 2


def test_each_origin_has_its_own_entry_and_a_refused_origin_is_never_served_from_memory(client, thread, lookups):
    allowed = client.get(THREAD, headers={"Origin": ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    refused = client.get(THREAD, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    assert client.get(THREAD, headers={"Origin": "https://evil.example"}).status_code == 403
    plain = client.get(THREAD)
    assert "Access-Control-Allow-Origin" not in plain.headers and len(lookups) == 4


def test_entries_expire_after_the_ttl(client, thread, lookups, monkeypatch):
    from discuss.api import caching

    client.get(THREAD)
    now = caching.time.monotonic()
    monkeypatch.setattr(caching.time, "monotonic", lambda: now + 61)
    client.get(THREAD)
    assert len(lookups) == 2


def test_an_answer_from_memory_counts_its_age_against_max_age(client, thread, monkeypatch):
    """A proxy that stores it must not keep it past max-age counted from when it was built."""
    from discuss.api import caching

    first = client.get(THREAD)
    assert first.headers["Cache-Control"] == "public, max-age=10, stale-while-revalidate=30"
    now = caching.time.monotonic()
    monkeypatch.setattr(caching.time, "monotonic", lambda: now + 3.2)
    later = client.get(THREAD)
    assert later.data == first.data and later.headers["Cache-Control"] == "public, max-age=6, stale-while-revalidate=30"


def _process(app):
    """Another process's memory: a second PublicReads in front of the same Flask app and database."""
    from werkzeug.test import Client

    from discuss.api.caching import PublicReads

    return Client(PublicReads(app.wsgi_app.wsgi_app, app))


def test_with_redis_a_write_through_another_process_is_in_the_next_read_here(app, thread, lookups, redis_url):
    app.config["REDIS_URL"] = redis_url
    here, there = _process(app), _process(app)
    here.get(THREAD)
    here.get(THREAD)
    assert len(lookups) == 1  # kept in this process
    assert post_comment(there, "Written through the other instance").status_code == 201
    assert "Written through the other instance" in here.get(THREAD).get_data(as_text=True)


def test_with_redis_unreadable_a_read_is_built_afresh_rather_than_served_from_memory(app, thread, lookups):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    here = _process(app)
    here.get(THREAD)
    here.get(THREAD)
    assert len(lookups) == 2
