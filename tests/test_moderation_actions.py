"""Each moderation action: its effect on the comment, the thread readers see, counts, and the audit trail."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from discuss.extensions import db
from discuss.models import Ban, CommentStatus, ModerationEvent, Report, ReportReason, Thread

pytestmark = pytest.mark.signed_in("moderator")


def thread_state(thread_id: int) -> tuple[int, int]:
    db.session.expire_all()
    thread = db.session.get(Thread, thread_id)
    return thread.published_count, thread.revision


def events_for(comment_id: int) -> list[ModerationEvent]:
    return list(db.session.scalars(select(ModerationEvent).where(ModerationEvent.comment_id == comment_id)
                                   .order_by(ModerationEvent.id)))


def public_ids(client, article: str = "budget-vote") -> set[int]:
    body = client.get(f"/api/v1/comments?site=news&article={article}").get_json()

    def walk(comments):
        for c in comments:
            yield c["id"]
            yield from walk(c.get("replies") or [])
    return set(walk(body["comments"]))


def test_approve_publishes_and_updates_thread(client, world):
    count, revision = thread_state(world.thread.id)
    assert world.pending.id not in public_ids(client)
    response = client.post(f"/mod/comments/{world.pending.id}/approve")
    assert response.status_code == 302
    assert thread_state(world.thread.id) == (count + 1, revision + 1)
    assert world.pending.status == CommentStatus.PUBLISHED and world.pending.moderator_decided
    assert world.pending.id in public_ids(client)
    [event] = events_for(world.pending.id)
    assert (event.action, event.from_status, event.to_status) == ("approve", "pending", "published")
    assert event.actor_id == world.users["moderator"].id and event.actor_label.startswith("staff:")


def test_reject_with_reason_and_note(client, world):
    count, revision = thread_state(world.thread.id)
    client.post(f"/mod/comments/{world.toxic.id}/reject", data={"reason": "harassment", "note": "targets a user"})
    assert thread_state(world.thread.id) == (count, revision + 1)
    assert world.toxic.status == CommentStatus.REJECTED and world.toxic.reasons == ["reject:harassment"]
    [event] = events_for(world.toxic.id)
    assert (event.action, event.note, event.reasons) == ("reject", "targets a user", ["reject:harassment"])


def test_reject_refuses_unknown_reason(client, world):
    response = client.post(f"/mod/comments/{world.toxic.id}/reject", data={"reason": "meh"},
                           headers={"X-Requested-With": "fetch"})
    assert response.status_code == 400 and response.get_json()["error"]["fields"]["reason"]
    db.session.expire_all()
    assert world.toxic.status == CommentStatus.PENDING and not events_for(world.toxic.id)


def test_remove_published_resolves_reports_and_drops_from_thread(client, world):
    db.session.add(Report(comment_id=world.reported.id, reason=ReportReason.SPAM, note="ad"))
    db.session.commit()
    count, _ = thread_state(world.thread.id)
    assert world.reported.id in public_ids(client)
    client.post(f"/mod/comments/{world.reported.id}/remove", data={"reason": "spam"})
    assert thread_state(world.thread.id)[0] == count - 1
    assert world.reported.id not in public_ids(client)
    assert world.reported.report_count == 0
    assert db.session.scalar(select(Report).where(Report.comment_id == world.reported.id)).resolved_at
    [event] = events_for(world.reported.id)
    assert (event.action, event.from_status, event.to_status) == ("remove", "published", "rejected")


def test_keeping_a_reported_comment_clears_reports(client, world):
    client.post(f"/mod/comments/{world.reported.id}/approve")
    db.session.expire_all()
    assert world.reported.status == CommentStatus.PUBLISHED and world.reported.report_count == 0
    [event] = events_for(world.reported.id)
    assert event.action == "approve" and event.from_status == event.to_status == "published"


def test_restore_rejected(client, world):
    count, _ = thread_state(world.thread.id)
    client.post(f"/mod/comments/{world.rejected.id}/restore")
    assert thread_state(world.thread.id)[0] == count + 1
    assert world.rejected.status == CommentStatus.PUBLISHED and world.rejected.reasons == []
    assert events_for(world.rejected.id)[0].action == "restore"


def test_feature_and_unfeature(client, world):
    _, revision = thread_state(world.thread.id)
    client.post(f"/mod/comments/{world.published.id}/feature")
    assert thread_state(world.thread.id)[1] == revision + 1
    assert world.published.is_featured
    client.post(f"/mod/comments/{world.published.id}/unfeature")
    db.session.expire_all()
    assert not world.published.is_featured
    assert [e.action for e in events_for(world.published.id)] == ["feature", "unfeature"]


@pytest.mark.parametrize("comment_name,action", [("pending", "restore"), ("pending", "remove"),
                                                  ("published", "restore"), ("rejected", "feature"),
                                                  ("published", "approve")])
def test_invalid_transitions_are_refused(client, world, comment_name, action):
    comment = getattr(world, comment_name)
    before = comment.status
    response = client.post(f"/mod/comments/{comment.id}/{action}", headers={"X-Requested-With": "fetch"})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "invalid_transition"
    db.session.expire_all()
    assert comment.status == before and not events_for(comment.id)


def test_fetch_reply_carries_new_counts(client, world):
    body = client.post(f"/mod/comments/{world.pending.id}/approve", headers={"X-Requested-With": "fetch"}).get_json()
    assert body["ok"] and body["status"] == "published"
    assert body["counts"]["pending"] == 1 and body["counts"]["published"] == 3


def test_bulk_approve_and_reject(client, world):
    ids = [str(world.pending.id), str(world.toxic.id), str(world.rejected.id)]
    response = client.post("/mod/bulk", data={"action": "reject", "ids": ids, "reason": "spam"}, follow_redirects=True)
    assert "Rejected: 2 comments; 1 skipped" in response.get_data(as_text=True)
    db.session.expire_all()
    assert world.pending.status == world.toxic.status == CommentStatus.REJECTED
    client.post("/mod/bulk", data={"action": "approve", "ids": ids})
    db.session.expire_all()
    assert {world.pending.status, world.toxic.status, world.rejected.status} == {CommentStatus.PUBLISHED}
    assert [e.action for e in events_for(world.pending.id)] == ["reject", "restore"]
    assert thread_state(world.thread.id)[0] == 5


def test_bulk_api_reports_each_outcome(client, world):
    body = client.post("/api/v1/moderation/bulk", json={"action": "approve", "ids": [
        world.pending.id, world.published.id, world.foreign_pending.id, 999]}).get_json()
    outcomes = {r["comment_id"]: (r["ok"], r["error"]) for r in body["results"]}
    assert outcomes == {world.pending.id: (True, None), world.published.id: (False, "invalid_transition"),
                        world.foreign_pending.id: (False, "not_found"), 999: (False, "not_found")}
    assert body["counts"]["pending"] == 1


def test_bulk_api_takes_ids_written_as_integral_numbers_and_refuses_fractions(client, world):
    # JSON Schema counts 7.0 as an integer, so the description allows it (schemathesis sends them).
    body = client.post("/api/v1/moderation/bulk", json={"action": "approve", "ids": [float(world.pending.id)]})
    assert body.status_code == 200 and body.get_json()["results"][0]["comment_id"] == world.pending.id
    refused = client.post("/api/v1/moderation/bulk", json={"action": "approve", "ids": [world.pending.id + 0.5]})
    assert refused.status_code == 400 and refused.get_json()["error"]["fields"]["ids"]


def test_suspend_author_rejecting_pending(client, world):
    count, _ = thread_state(world.thread.id)
    client.post(f"/mod/authors/{world.author.id}/ban",
                data={"site_id": str(world.site.id), "days": "7", "reason": "spam run", "reject_pending": "1"})
    ban = db.session.scalar(select(Ban).where(Ban.user_id == world.author.id))
    assert ban.until is not None and ban.site_id == world.site.id and ban.reason == "spam run"
    assert world.pending.status == CommentStatus.REJECTED and "author_banned" in world.pending.reasons
    assert world.published.status == CommentStatus.PUBLISHED  # published history stays
    assert thread_state(world.thread.id)[0] == count
    event = db.session.scalar(select(ModerationEvent).where(ModerationEvent.action == "suspend"))
    assert event.target_user_id == world.author.id and event.details["rejected_comment_ids"] == [world.pending.id]
    page = client.get(f"/mod/comments/{world.published.id}").get_data(as_text=True)
    assert "suspended until" in page and "Lift ban" in page


def test_permanent_ban_and_unban(client, world):
    client.post(f"/mod/authors/{world.author.id}/ban", data={"site_id": str(world.site.id), "days": "permanent"})
    ban = db.session.scalar(select(Ban).where(Ban.user_id == world.author.id))
    assert ban.until is None
    assert world.pending.status == CommentStatus.PENDING  # not asked to reject the queue
    client.post(f"/mod/authors/{world.author.id}/unban", data={"site_id": str(world.site.id)})
    db.session.expire_all()
    assert ban.lifted_at is not None
    actions = list(db.session.scalars(select(ModerationEvent.action).order_by(ModerationEvent.id)))
    assert actions == ["ban", "unban"]


def test_cannot_ban_on_a_site_you_do_not_moderate(client, world):
    response = client.post(f"/api/v1/moderation/authors/{world.author.id}/ban", json={"site": "sports"})
    assert response.status_code == 400
    assert db.session.scalar(select(Ban)) is None


def test_staff_cannot_be_banned(client, world):
    response = client.post(f"/api/v1/moderation/authors/{world.users['admin'].id}/ban", json={"site": "news"})
    assert response.status_code == 409


@pytest.mark.parametrize("action,attribute,value", [("close", "is_closed", True),
                                                     ("premoderate", "is_premoderated", True)])
def test_thread_actions(client, world, action, attribute, value):
    _, revision = thread_state(world.thread.id)
    client.post(f"/mod/threads/{world.thread.id}/{action}")
    thread = db.session.get(Thread, world.thread.id)
    assert getattr(thread, attribute) is value and thread.revision == revision + 1
    undo = {"close": "reopen", "premoderate": "unpremoderate"}[action]
    client.post(f"/mod/threads/{world.thread.id}/{undo}")
    db.session.expire_all()
    assert getattr(thread, attribute) is not value
    events = list(db.session.scalars(select(ModerationEvent).where(ModerationEvent.thread_id == thread.id,
                                                                    ModerationEvent.comment_id.is_(None))))
    assert [e.action for e in events] == [action, undo]


def test_item_page_shows_history(client, world):
    client.post(f"/mod/comments/{world.pending.id}/approve", data={"note": "fine on review"})
    page = client.get(f"/mod/comments/{world.pending.id}").get_data(as_text=True)
    assert "History (1)" in page and "fine on review" in page and "pending → published" in page
