"""Who may see and do what: every dashboard page and API call, for every kind of visitor."""
from __future__ import annotations

import pytest

from discuss.extensions import db
from discuss.models import CommentStatus
from tests.dashboard_support import ROLES, sign_in


def page_urls(w):
    return {
        "queue": "/mod/queue/pending",
        "queue_all": "/mod/queue/all?sort=toxicity",
        "item": f"/mod/comments/{w.pending.id}",
        "audit": "/mod/audit",
        "settings": "/mod/sites/news/settings",
    }


# Expected status per page for each role. Other sites' items look missing (404), not forbidden.
PAGE_EXPECTATIONS = {
    "anonymous": {"queue": 302, "queue_all": 302, "item": 302, "audit": 302, "settings": 302},
    "reader": {"queue": 403, "queue_all": 403, "item": 403, "audit": 403, "settings": 403},
    "other_moderator": {"queue": 200, "queue_all": 200, "item": 404, "audit": 200, "settings": 404},
    "moderator": {"queue": 200, "queue_all": 200, "item": 200, "audit": 200, "settings": 403},
    "admin": {"queue": 200, "queue_all": 200, "item": 200, "audit": 200, "settings": 200},
}


@pytest.mark.parametrize("role", ROLES)
def test_pages_by_role(client, world, role):
    sign_in(client, world.users[role])
    for name, url in page_urls(world).items():
        response = client.get(url)
        assert response.status_code == PAGE_EXPECTATIONS[role][name], (role, name)
        if response.status_code == 302:
            assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ROLES)
def test_queue_shows_only_own_sites(client, world, role):
    sign_in(client, world.users[role])
    body = client.get("/mod/queue/all").get_data(as_text=True)
    sees_news = "Held for premoderation." in body
    sees_sports = "Other site comment." in body
    assert sees_news == (role in ("moderator", "admin"))
    assert sees_sports == (role in ("other_moderator", "admin"))


def action_posts(w):
    return [
        (f"/mod/comments/{w.pending.id}/approve", {}),
        (f"/mod/comments/{w.toxic.id}/reject", {"reason": "abuse"}),
        (f"/mod/comments/{w.published.id}/feature", {}),
        ("/mod/bulk", {"action": "approve", "ids": [str(w.pending.id)]}),
        (f"/mod/authors/{w.author.id}/ban", {"site_id": str(w.site.id), "days": "7"}),
        (f"/mod/threads/{w.thread.id}/close", {}),
        ("/mod/sites/news/settings", {"max_depth": "2"}),
        ("/mod/sites/news/api-token", {}),
    ]


@pytest.mark.parametrize("role", ["anonymous", "reader", "other_moderator"])
def test_outsiders_change_nothing(client, world, role):
    sign_in(client, world.users[role])
    for url, form in action_posts(world):
        response = client.post(url, data=form)
        assert response.status_code in (302, 403, 404), url
        if response.status_code == 302:  # bulk by an outsider: redirected with nothing done
            assert role in ("anonymous", "other_moderator")
    db.session.expire_all()
    assert world.pending.status == CommentStatus.PENDING
    assert world.toxic.status == CommentStatus.PENDING
    assert not world.published.is_featured
    assert not world.thread.is_closed
    assert world.site.api_token_hash is None
    assert "max_depth" not in (world.site.settings or {})


def test_moderator_of_other_site_bulk_skips_foreign_comments(client, world):
    sign_in(client, world.users["other_moderator"])
    client.post("/mod/bulk", data={"action": "approve", "ids": [str(world.pending.id), str(world.foreign_pending.id)]})
    db.session.expire_all()
    assert world.pending.status == CommentStatus.PENDING
    assert world.foreign_pending.status == CommentStatus.PUBLISHED


def api_calls(w):
    return {
        "counts": ("GET", "/api/v1/moderation/queues", None),
        "queue": ("GET", "/api/v1/moderation/queues/pending?site=news", None),
        "item": ("GET", f"/api/v1/moderation/comments/{w.pending.id}", None),
        "audit": ("GET", "/api/v1/moderation/audit?site=news", None),
        "settings": ("GET", "/api/v1/moderation/sites/news/settings", None),
        "action": ("POST", f"/api/v1/moderation/comments/{w.pending.id}/actions", {"action": "approve"}),
        "bulk": ("POST", "/api/v1/moderation/bulk", {"action": "reject", "ids": [w.toxic.id], "reason": "spam"}),
        "ban": ("POST", f"/api/v1/moderation/authors/{w.author.id}/ban", {"site": "news", "days": 3}),
        "thread": ("POST", f"/api/v1/moderation/threads/{w.thread.id}/actions", {"action": "close"}),
        "patch_settings": ("PATCH", "/api/v1/moderation/sites/news/settings", {"max_depth": 2}),
    }


API_EXPECTATIONS = {
    "anonymous": dict.fromkeys(("counts", "queue", "item", "audit", "settings", "action", "bulk", "ban",
                                "thread", "patch_settings"), 401),
    "reader": dict.fromkeys(("counts", "queue", "item", "audit", "settings", "action", "bulk", "ban",
                             "thread", "patch_settings"), 403),
    "other_moderator": {"counts": 200, "queue": 400, "item": 404, "audit": 400, "settings": 404, "action": 404,
                        "bulk": 200, "ban": 400, "thread": 404, "patch_settings": 404},
    "moderator": {"counts": 200, "queue": 200, "item": 200, "audit": 200, "settings": 403, "action": 200,
                  "bulk": 200, "ban": 201, "thread": 200, "patch_settings": 403},
    "admin": {"counts": 200, "queue": 200, "item": 200, "audit": 200, "settings": 200, "action": 200,
              "bulk": 200, "ban": 201, "thread": 200, "patch_settings": 200},
}


@pytest.mark.parametrize("role", ROLES)
def test_api_by_role(client, world, role):
    sign_in(client, world.users[role])
    for name, (method, url, body) in api_calls(world).items():
        response = client.open(url, method=method, json=body)
        assert response.status_code == API_EXPECTATIONS[role][name], (role, name, response.get_json())
        if response.status_code >= 400:
            assert set(response.get_json()["error"]) >= {"code", "message"}
    db.session.expire_all()
    acted = role in ("moderator", "admin")
    assert (world.pending.status == CommentStatus.PUBLISHED) == acted
    assert (world.toxic.status == CommentStatus.REJECTED) == acted
    assert world.thread.is_closed == acted


def test_other_moderator_bulk_via_api_reports_not_found(client, world):
    sign_in(client, world.users["other_moderator"])
    body = client.post("/api/v1/moderation/bulk", json={"action": "approve", "ids": [world.pending.id]}).get_json()
    assert body["results"] == [{"comment_id": world.pending.id, "ok": False, "status": None, "error": "not_found"}]
