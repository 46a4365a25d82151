"""Undo from the audit trail, auto-hold after reports, auto-close, settings audit with old and new
values, and applying replayed thresholds as one audited action."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from discuss.extensions import db
from discuss.models import Ban, Comment, CommentStatus, ModerationEvent, Report, Role, Thread, utcnow
from tests.dashboard_support import make_staff, sign_in
from tests.factories import make_comment, make_site, make_thread
from tests.support.api import post_comment, read_thread

API = "/api/v1/moderation"


pytestmark = pytest.mark.signed_in("moderator")  # the shared `world` fixture (conftest) signs this role in


def act(client, comment_id, action, **extra):
    return client.post(f"{API}/comments/{comment_id}/actions", json={"action": action, **extra})


def last_event(comment_id=None, action=None) -> ModerationEvent:
    query = select(ModerationEvent).order_by(ModerationEvent.id.desc()).limit(1)
    if comment_id is not None:
        query = query.where(ModerationEvent.comment_id == comment_id)
    if action is not None:
        query = query.where(ModerationEvent.action == action)
    return db.session.scalar(query)


def undo(client, event_id):
    return client.post(f"{API}/events/{event_id}/undo")


def test_undo_a_rejection_restores_the_comment_exactly(client, world):
    comment = world.toxic
    assert act(client, comment.id, "reject", reason="abuse").status_code == 200
    event = last_event(comment.id)
    response = undo(client, event.id)
    assert response.status_code == 200
    undo_row = response.get_json()["event"]
    assert undo_row["action"] == "undo" and undo_row["undo_of_id"] == event.id
    assert (undo_row["from_status"], undo_row["to_status"]) == ("rejected", "pending")
    db.session.expire_all()
    comment = db.session.get(Comment, comment.id)
    assert comment.status is CommentStatus.PENDING
    assert comment.reasons == ["toxicity:insult"] and comment.moderator_decided is False
    again = undo(client, event.id)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_reversible"


def test_undo_refuses_when_the_comment_changed_since(client, world):
    act(client, world.toxic.id, "reject")
    rejection = last_event(world.toxic.id)
    act(client, world.toxic.id, "restore")
    response = undo(client, rejection.id)
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(Comment, world.toxic.id).status is CommentStatus.PUBLISHED


def test_undo_a_removal_reopens_its_reports_and_republishes(client, world):
    db.session.add_all([Report(comment_id=world.reported.id, reason="spam"),
                        Report(comment_id=world.reported.id, reason="abuse")])
    db.session.commit()
    act(client, world.reported.id, "remove", reason="spam")
    assert undo(client, last_event(world.reported.id).id).status_code == 200
    db.session.expire_all()
    comment = db.session.get(Comment, world.reported.id)
    assert comment.status is CommentStatus.PUBLISHED and comment.report_count == 2
    assert world.reported.id in {c["id"] for c in client.get(
        "/api/v1/comments?site=news&article=budget-vote").get_json()["comments"]}


def test_undo_feature_thread_close_and_ban(client, world):
    act(client, world.published.id, "feature")
    assert undo(client, last_event(world.published.id).id).status_code == 200
    client.post(f"{API}/threads/{world.thread.id}/actions", json={"action": "close"})
    assert undo(client, last_event(action="close").id).status_code == 200
    client.post(f"{API}/authors/{world.author.id}/ban", json={"site": "news", "days": 7})
    assert undo(client, last_event(action="suspend").id).status_code == 200
    db.session.expire_all()
    assert db.session.get(Comment, world.published.id).is_featured is False
    assert db.session.get(Thread, world.thread.id).is_closed is False
    assert all(not b.active_at(utcnow()) for b in db.session.scalars(select(Ban)))


def test_undo_is_scoped_to_the_moderators_sites(client, world):
    sign_in(client, world.users["other_moderator"])
    act(client, world.foreign_pending.id, "approve")
    foreign = last_event(world.foreign_pending.id)
    sign_in(client, world.users["moderator"])
    assert undo(client, foreign.id).status_code == 404
    assert undo(client, 999999).status_code == 404
    db.session.expire_all()
    assert db.session.get(Comment, world.foreign_pending.id).status is CommentStatus.PUBLISHED


def test_pipeline_decisions_are_not_undoable(client, app):
    make_site()
    sign_in(client, make_staff("a@example.com", Role.ADMIN))
    post_comment(client, "Fine words.")
    response = undo(client, last_event(action="create").id)
    assert response.status_code == 409


def test_reports_threshold_holds_a_comment_until_a_moderator_decides(client, app):
    site = make_site(auto_hold_reports=2)
    thread = make_thread(site)
    comment = make_comment(thread)
    first = client.post(f"/api/v1/comments/{comment.id}/reports", json={"reason": "spam"})
    assert first.status_code == 201
    assert [c["id"] for c in read_thread(client).get_json()["comments"]] == [comment.id]
    client.post(f"/api/v1/comments/{comment.id}/reports", json={"reason": "abuse"},
                environ_base={"REMOTE_ADDR": "10.0.0.2"})
    db.session.expire_all()
    held = db.session.get(Comment, comment.id)
    assert held.status is CommentStatus.PENDING and held.reasons == ["reports_threshold"]
    assert read_thread(client).get_json()["comments"] == []
    event = last_event(comment.id)
    assert (event.action, event.actor_label) == ("hold", "rule:reports_threshold")
    sign_in(client, make_staff("mod@example.com", Role.MODERATOR, [site]))
    assert act(client, comment.id, "approve").status_code == 200
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).report_count == 0
    assert [c["id"] for c in read_thread(client).get_json()["comments"]] == [comment.id]


def test_reports_threshold_off_by_default(client, app):
    thread = make_thread(make_site())
    comment = make_comment(thread)
    for ip in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        client.post(f"/api/v1/comments/{comment.id}/reports", json={"reason": "spam"}, environ_base={"REMOTE_ADDR": ip})
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).status is CommentStatus.PUBLISHED


def test_threads_close_n_days_after_their_first_comment(client, app):
    site = make_site(auto_close_days=3)
    old = make_thread(site, "article-1")
    old.created_at = utcnow() - timedelta(days=3, minutes=1)
    make_thread(site, "article-2").created_at = utcnow() - timedelta(days=2)
    db.session.commit()
    response = post_comment(client, "Late words.")
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "thread_closed"
    assert read_thread(client).get_json()["thread"]["closed"] is True
    assert post_comment(client, "In time.", article="article-2").status_code == 201
    assert read_thread(client, article="article-2").get_json()["thread"]["closed"] is False


def test_settings_audit_records_old_and_new_values_and_undo_restores_them(client, app):
    make_site()
    sign_in(client, make_staff("admin@example.com", Role.ADMIN))
    response = client.patch(f"{API}/sites/news/settings", json={"max_depth": 1, "banned_words": ["spam"]})
    assert response.status_code == 200
    event = last_event(action="settings")
    assert event.details["old"] == {"banned_words": [], "max_depth": 3}
    assert event.details["new"] == {"banned_words": ["spam"], "max_depth": 1}
    assert undo(client, event.id).status_code == 200
    settings = client.get(f"{API}/sites/news/settings").get_json()["settings"]
    assert (settings["max_depth"], settings["banned_words"]) == (3, [])


def test_applying_thresholds_is_one_audited_action(client, app):
    make_site()
    admin = make_staff("admin@example.com", Role.ADMIN)
    sign_in(client, admin)
    response = client.post(f"{API}/sites/news/thresholds",
                           json={"hold_thresholds": {"toxicity": 0.6}, "note": "from replay"})
    assert response.status_code == 200 and response.get_json()["hold_thresholds"]["toxicity"] == 0.6
    events = list(db.session.scalars(select(ModerationEvent).where(ModerationEvent.action == "apply_thresholds")))
    assert len(events) == 1 and events[0].note == "from replay"
    assert events[0].details["old"]["hold_thresholds"]["toxicity"] == 0.8
    assert events[0].details["new"]["hold_thresholds"]["toxicity"] == 0.6


@pytest.mark.parametrize("body", [{"hold_thresholds": {"toxicity": 1.5}}, {"hold_thresholds": "high"},
                                  {"surprise": 1}, {}])
def test_applying_bad_thresholds_changes_nothing(client, app, body):
    site = make_site()
    sign_in(client, make_staff("admin@example.com", Role.ADMIN))
    response = client.post(f"{API}/sites/news/thresholds", json=body)
    assert response.status_code == 400
    db.session.expire_all()
    assert site.settings == {} and last_event(action="apply_thresholds") is None


def test_moderators_cannot_apply_thresholds(client, app):
    site = make_site()
    sign_in(client, make_staff("mod@example.com", Role.MODERATOR, [site]))
    assert client.post(f"{API}/sites/news/thresholds", json={"hold_thresholds": {"toxicity": 0.6}}).status_code == 403


def test_undoing_a_ban_puts_back_the_comments_it_rejected(client, world):
    second = make_comment(world.thread, world.author, "Also waiting.", status=CommentStatus.PENDING,
                          reasons=["links"])
    client.post(f"{API}/authors/{world.author.id}/ban", json={"site": "news", "reject_pending": True})
    db.session.expire_all()
    assert {db.session.get(Comment, i).status for i in (world.pending.id, second.id)} == {CommentStatus.REJECTED}
    ban_event = last_event(action="ban")

    response = undo(client, ban_event.id)

    assert response.status_code == 200
    details = response.get_json()["event"]["details"]
    assert sorted(details["comments_restored"]) == sorted([world.pending.id, second.id])
    db.session.expire_all()
    first, other = db.session.get(Comment, world.pending.id), db.session.get(Comment, second.id)
    assert (first.status, first.reasons, first.moderator_decided) == (
        CommentStatus.PENDING, ["premoderation:new_commenter"], False)
    assert (other.status, other.reasons) == (CommentStatus.PENDING, ["links"])
    # Each comment's rejection is marked undone by an undo row of its own, so it cannot be undone twice.
    rows = db.session.scalars(select(ModerationEvent).where(ModerationEvent.action == "undo",
                                                            ModerationEvent.comment_id == second.id)).all()
    assert len(rows) == 1 and (rows[0].from_status, rows[0].to_status) == ("rejected", "pending")
    assert undo(client, rows[0].undo_of_id).status_code == 409
    assert all(not b.active_at(utcnow()) for b in db.session.scalars(select(Ban)))


def test_undoing_a_ban_leaves_a_comment_decided_since(client, world):
    client.post(f"{API}/authors/{world.author.id}/ban", json={"site": "news", "reject_pending": True})
    act(client, world.pending.id, "restore")  # a moderator published it after the ban

    response = undo(client, last_event(action="ban").id)

    assert response.status_code == 200
    assert response.get_json()["event"]["details"]["comments_changed_since"] == [world.pending.id]
    db.session.expire_all()
    assert db.session.get(Comment, world.pending.id).status is CommentStatus.PUBLISHED
