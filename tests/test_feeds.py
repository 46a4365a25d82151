"""Atom feeds of published comments, parsed with feedparser: links are permalinks, held and
removed comments stay out, and conditional GET answers 304 until something changes."""
from __future__ import annotations

import feedparser
import pytest

from discuss.models import CommentStatus
from tests.factories import make_comment, make_site, make_thread, make_user

URL = "https://news.example.com"


@pytest.fixture
def world(app):
    site = make_site("news")
    budget, other = make_thread(site, "budget"), make_thread(site, "other")
    ann = make_user("Ann")
    comments = {
        "first": make_comment(budget, ann, "First *take*."),
        "reply": None,
        "held": make_comment(budget, make_user("Bob"), "Held back.", status=CommentStatus.PENDING),
        "removed": make_comment(budget, make_user("Cy"), "Removed.", status=CommentStatus.REJECTED),
        "elsewhere": make_comment(other, make_user("Dee"), "On another story."),
    }
    comments["reply"] = make_comment(budget, make_user("Eve"), "A reply.", parent=comments["first"])
    return site, budget, comments


def test_the_article_feed_carries_its_published_comments_linking_to_permalinks(client, world):
    _, _, c = world
    response = client.get("/feeds/news/budget.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "Comments on Budget"
    assert [e.link for e in feed.entries] == [f"{URL}/budget#discuss-comment-{c['reply'].id}",
                                              f"{URL}/budget#discuss-comment-{c['first'].id}"]
    first = feed.entries[1]
    assert first.author == "Ann" and "<em>take</em>" in first.content[0].value
    assert first.id == first.link and first.published_parsed is not None
    text = response.get_data(as_text=True)
    assert "Held back." not in text and "Removed." not in text and "another story" not in text


def test_the_site_feed_carries_the_latest_comments_across_articles(client, world):
    _, _, c = world
    feed = feedparser.parse(client.get("/feeds/news.atom").data)
    assert not feed.bozo
    assert feed.feed.title == "Latest comments on News"
    assert [e.link for e in feed.entries] == [f"{URL}/budget#discuss-comment-{c['reply'].id}",
                                              f"{URL}/other#discuss-comment-{c['elsewhere'].id}",
                                              f"{URL}/budget#discuss-comment-{c['first'].id}"]
    assert feed.entries[1].title == "Dee on Other"


@pytest.mark.parametrize("path", ["/feeds/news/budget.atom", "/feeds/news.atom"])
def test_conditional_get_answers_304_until_a_comment_changes(client, world, path):
    site, budget, _ = world
    first = client.get(path)
    etag = first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    make_comment(budget, make_user("Fay"), "Something new.")
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "Something new." in changed.get_data(as_text=True)


def test_article_ids_that_are_urls_work_in_the_feed_path(client, app):
    site = make_site("news")
    thread = make_thread(site, "https://news.example.com/2026/03/budget")
    make_comment(thread, body="Hello.")
    response = client.get("/feeds/news/https%3A%2F%2Fnews.example.com%2F2026%2F03%2Fbudget.atom")
    assert response.status_code == 200 and len(feedparser.parse(response.data).entries) == 1


@pytest.mark.parametrize("path", ["/feeds/nope.atom", "/feeds/news/no-such-article.atom"])
def test_unknown_sites_and_articles_are_404(client, world, path):
    response = client.get(path)
    assert response.status_code == 404 and response.get_json()["error"]["code"] in ("unknown_site", "not_found")
