"""Comment permalinks (API, context endpoint, reply emails, dashboard) and the live-update
endpoints an open widget polls (ETag/304, then only the new comments)."""
from __future__ import annotations

import time

import pytest

from discuss.comments import live
from discuss.jobs import mail, notifications
from discuss.models import AuthorKind, CommentStatus, Role
from tests.dashboard_support import make_staff, sign_in
from tests.factories import make_comment, make_site, make_thread, make_user
from tests.support.api import flatten, post_comment, read_thread

URL = "https://news.example.com/article-1"


@pytest.fixture
def site(app):
    return make_site("news")


def test_every_comment_in_the_api_carries_its_permalink(client, site):
    top = post_comment(client, "Top.").get_json()["comment"]
    assert top["permalink"] == f"{URL}#discuss-comment-{top['id']}"
    reply = post_comment(client, "Reply.", parent_id=top["id"]).get_json()["comment"]
    nested = post_comment(client, "Deeper.", parent_id=reply["id"]).get_json()["comment"]
    comments = flatten(read_thread(client).get_json()["comments"])
    assert {c["id"]: c["permalink"] for c in comments} == {
        c["id"]: f"{URL}#discuss-comment-{c['id']}" for c in (top, reply, nested)}


def test_a_thread_without_an_article_url_links_to_the_reading_page(client, site):
    made = post_comment(client, "No URL given.", article_url="").get_json()["comment"]
    assert made["permalink"].endswith(f"/embed/read?site=news&article=article-1#discuss-comment-{made['id']}")
    page = client.get("/embed/read?site=news&article=article-1").get_data(as_text=True)
    assert f'id="discuss-comment-{made["id"]}"' in page


def test_context_gives_ancestors_and_the_place_behind_load_more(client, site):
    thread = make_thread(site)
    roots = [make_comment(thread, body=f"Root {i}") for i in range(120)]
    child = make_comment(thread, body="Child", parent=roots[100])
    grandchild = make_comment(thread, body="Grandchild", parent=child)
    body = client.get(f"/api/v1/comments/{grandchild.id}/context").get_json()
    assert body["comment"]["id"] == grandchild.id and body["comment"]["permalink"].endswith(f"#discuss-comment-{grandchild.id}")
    assert [a["id"] for a in body["ancestors"]] == [roots[100].id, child.id]
    assert body["place"] == {"root_id": roots[100].id, "depth": 2, "sort": "oldest", "index": 100,
                             "top_level_count": 120}
    newest = client.get(f"/api/v1/comments/{grandchild.id}/context?sort=newest").get_json()["place"]
    assert newest["index"] == 19
    # The place is right: paging "load more" with the API's cursor reaches the root on the third page.
    first = read_thread(client, limit=50).get_json()
    second = read_thread(client, limit=50, cursor=first["next_cursor"]).get_json()
    third = read_thread(client, limit=50, cursor=second["next_cursor"]).get_json()
    assert [c["id"] for c in third["comments"]].index(roots[100].id) == 100 - 100
    assert roots[100].id not in [c["id"] for c in first["comments"] + second["comments"]]


@pytest.mark.parametrize("status", [CommentStatus.PENDING, CommentStatus.REJECTED, CommentStatus.DELETED])
def test_context_of_a_comment_readers_cannot_see_is_not_found(client, site, status):
    hidden = make_comment(make_thread(site), status=status)
    response = client.get(f"/api/v1/comments/{hidden.id}/context")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/comments/999999/context").status_code == 404


def test_context_refuses_a_bad_sort(client, site):
    comment = make_comment(make_thread(site))
    response = client.get(f"/api/v1/comments/{comment.id}/context?sort=loudest")
    assert response.status_code == 400 and response.get_json()["error"]["fields"]["sort"]


def test_reply_emails_link_to_the_reply_itself(app, site, monkeypatch):
    author = make_user("Ann", kind=AuthorKind.ACCOUNT, email="ann@example.com", email_verified=True,
                       notify_replies=True)
    thread = make_thread(site)
    reply = make_comment(thread, make_user("Bob"), "Good point.", parent=make_comment(thread, author, "Parent."))
    sent = []
    monkeypatch.setattr(mail, "send", lambda message: sent.append(mail.build_message(message)))
    assert notifications.send_reply_notification(reply.id, "http://comments.test") is True
    [message] = sent
    link = f"{URL}#discuss-comment-{reply.id}"
    assert link in message.get_body(preferencelist=("plain",)).get_content()
    assert f'href="{link}"' in message.get_body(preferencelist=("html",)).get_content()


def test_the_dashboard_links_published_comments_to_their_permalink(app, site):
    thread = make_thread(site)
    published = make_comment(thread, body="On the page.", report_count=1)
    client = app.test_client()
    sign_in(client, make_staff("chief@news.example.com", Role.ADMIN))
    page = client.get("/mod/queue/all").get_data(as_text=True)
    assert f'href="{URL}#discuss-comment-{published.id}"' in page


# -- live updates ---------------------------------------------------------------------------------

def expire_live_cache(monkeypatch):
    monkeypatch.setattr(live, "STATE_TTL_SECONDS", 0.0)


def test_the_live_revision_answers_304_until_something_is_posted(client, site, monkeypatch):
    expire_live_cache(monkeypatch)
    first = post_comment(client, "First.").get_json()["comment"]
    polled = client.get("/api/v1/live?site=news&article=article-1")
    assert polled.status_code == 200 and polled.get_json()["last_id"] == first["id"]
    assert polled.headers["ETag"] and "s-maxage=1" in polled.headers["Cache-Control"]
    etag = polled.headers["ETag"]
    again = client.get("/api/v1/live?site=news&article=article-1", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    second = post_comment(client, "Second.", name="Bob").get_json()["comment"]
    changed = client.get("/api/v1/live?site=news&article=article-1", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.get_json()["last_id"] == second["id"]
    # The changed answer carries the newest comments, so the widget needs no second request...
    assert [c["id"] for c in changed.get_json()["recent"]] == [first["id"], second["id"]]
    assert changed.get_json()["recent"][1]["author"]["name"] == "Bob"
    # ...and /live/new gives a widget that is further behind everything after its last id.
    new = client.get(f"/api/v1/live/new?site=news&article=article-1&after={first['id']}").get_json()
    assert [c["id"] for c in new["comments"]] == [second["id"]]
    assert new["comments"][0]["permalink"] == f"{URL}#discuss-comment-{second['id']}"


def test_recent_holds_only_the_newest_twenty(client, site, monkeypatch):
    expire_live_cache(monkeypatch)
    thread = make_thread(site)
    made = [make_comment(thread, body=f"Comment {i}") for i in range(25)]
    recent = client.get("/api/v1/live?site=news&article=article-1").get_json()["recent"]
    assert [c["id"] for c in recent] == [c.id for c in made[5:]]


def test_polls_are_answered_in_front_of_flask_once_the_state_is_known(app, client, site, monkeypatch):
    post_comment(client, "Known.")
    first = client.get("/api/v1/live?site=news&article=article-1")  # through Flask: fills the state
    from discuss.comments import live as live_module
    monkeypatch.setattr(live_module, "thread_state", lambda *a, **k: (_ for _ in ()).throw(AssertionError("Flask")))
    again = client.get("/api/v1/live?site=news&article=article-1", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == first.headers["ETag"]
    body = client.get("/api/v1/live?site=news&article=article-1")
    assert body.status_code == 200 and body.data == first.data


def test_the_live_state_is_cached_per_process_for_a_second(client, site):
    post_comment(client, "Before.")
    before = client.get("/api/v1/live?site=news&article=article-1").get_json()
    post_comment(client, "Within the second.", name="Bob")
    assert client.get("/api/v1/live?site=news&article=article-1").get_json() == before
    time.sleep(live.STATE_TTL_SECONDS + 0.05)
    assert client.get("/api/v1/live?site=news&article=article-1").get_json()["last_id"] > before["last_id"]


def test_held_comments_are_not_announced_live(client, site, monkeypatch):
    expire_live_cache(monkeypatch)
    first = post_comment(client, "Fine.").get_json()["comment"]
    post_comment(client, "You idiot.", name="Bob", acknowledge_warning=True)
    assert client.get("/api/v1/live?site=news&article=article-1").get_json()["last_id"] == first["id"]
    assert client.get(f"/api/v1/live/new?site=news&article=article-1&after={first['id']}").get_json() == {"comments": []}


@pytest.mark.parametrize("query, status, code", [
    ("site=news", 400, "validation_failed"), ("site=nope&article=a", 404, "unknown_site"),
])
def test_bad_live_polls_get_clear_errors(client, site, query, status, code):
    response = client.get(f"/api/v1/live?{query}")
    assert response.status_code == status and response.get_json()["error"]["code"] == code


def test_live_new_refuses_a_bad_after(client, site):
    response = client.get("/api/v1/live/new?site=news&article=article-1&after=-1")
    assert response.status_code == 400 and response.get_json()["error"]["fields"]["after"]


def test_the_thread_tells_the_widget_its_newest_comment(client, site):
    assert read_thread(client).get_json()["thread"]["last_id"] == 0
    made = post_comment(client, "Newest.").get_json()["comment"]
    assert read_thread(client).get_json()["thread"]["last_id"] == made["id"]
