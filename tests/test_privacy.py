"""Readers' data: download everything, delete the account per site policy, and IP retention."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from discuss.extensions import db
from discuss.cli import discuss_cli
from discuss.models import (AuthorKind, Comment, CommentStatus, ModerationEvent, ReaderSession, Report,
                            ReportReason, Role, Thread, User, Vote, utcnow)
from discuss.comments import privacy
from tests.factories import bearer, make_comment, make_site, make_thread, make_user, token_for
from tests.support.api import flatten, read_thread


@pytest.fixture
def reader(app):
    return make_user("Ann", kind=AuthorKind.ACCOUNT, email="ann@example.com", password_hash="x",
                     email_verified=True, notify_replies=True)


def events(action: str) -> list[ModerationEvent]:
    return list(db.session.scalars(select(ModerationEvent).where(ModerationEvent.action == action)))


def test_export_contains_profile_comments_votes_and_reports(client, reader):
    site = make_site("news")
    thread = make_thread(site)
    mine = make_comment(thread, reader, "My published words.")
    make_comment(thread, reader, "Still waiting for review.", status=CommentStatus.PENDING)
    other = make_comment(thread, make_user("Bob"), "Bob's view.")
    db.session.add_all([Vote(comment_id=other.id, user_id=reader.id, value=1),
                        Report(comment_id=other.id, user_id=reader.id, reason=ReportReason.SPAM, note="ads")])
    db.session.commit()
    response = client.get("/api/v1/me/export", headers=bearer(reader))
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = response.get_json()
    assert data["profile"]["email"] == "ann@example.com" and data["profile"]["display_name"] == "Ann"
    assert [c["body_markdown"] for c in data["comments"]] == ["My published words.", "Still waiting for review."]
    assert data["comments"][0]["id"] == mine.id and data["comments"][0]["site"] == "news"
    assert data["votes"] == [{"comment_id": other.id, "value": 1, "created_at": data["votes"][0]["created_at"]}]
    assert data["reports"][0]["reason"] == "spam"
    assert "Bob's view." not in response.get_data(as_text=True)


def test_export_needs_a_signed_in_reader(client, app):
    assert client.get("/api/v1/me/export").status_code == 401


def test_a_guest_can_export_with_their_author_token(client, app):
    site = make_site("news")
    guest = make_user("Guest Gil")
    make_comment(make_thread(site), guest, "Guest words.")
    data = client.get("/api/v1/me/export", headers=token_for(guest)).get_json()
    assert data["profile"]["kind"] == "guest" and data["comments"][0]["body_markdown"] == "Guest words."


def test_delete_with_anonymize_policy_keeps_comments_under_deleted_user(client, reader):
    site = make_site("news", account_deletion_policy="anonymize")
    thread = make_thread(site)
    comment = make_comment(thread, reader, "Keep my words.", ip_hash="abc")
    headers = bearer(reader)
    response = client.delete("/api/v1/me", headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {"deleted": True, "comments": {"anonymized": 1, "removed": 0}}
    db.session.expire_all()
    user = db.session.get(User, reader.id)
    assert (user.email, user.password_hash, user.external_id, user.display_name) == (None, None, None, "deleted user")
    assert not user.is_active_account and not user.notify_replies
    assert db.session.scalar(select(func.count(ReaderSession.id)).where(ReaderSession.user_id == reader.id)) == 0
    kept = db.session.get(Comment, comment.id)
    assert kept.status is CommentStatus.PUBLISHED and kept.author_name == "deleted user" and kept.ip_hash is None
    public = flatten(read_thread(client).get_json()["comments"])
    assert public[0]["author"]["name"] == "deleted user" and "Keep my words." in public[0]["html"]
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    [event] = events("account_deleted")
    assert event.target_user_id == reader.id and event.details["policy"] == "anonymize"


def test_delete_with_remove_policy_clears_comments_and_updates_counts(client, reader):
    site = make_site("news", account_deletion_policy="remove")
    thread = make_thread(site)
    parent = make_comment(thread, reader, "Remove my words.")
    reply = make_comment(thread, make_user("Bob"), "A reply that stays.", parent=parent)
    assert client.delete("/api/v1/me", headers=bearer(reader)).get_json()["comments"] == {
        "anonymized": 0, "removed": 1}
    db.session.expire_all()
    removed = db.session.get(Comment, parent.id)
    assert removed.status is CommentStatus.DELETED and removed.body_markdown == removed.body_text == ""
    assert db.session.get(Thread, thread.id).published_count == 1
    nodes = read_thread(client).get_json()["comments"]
    assert nodes[0]["status"] == "deleted" and nodes[0]["html"] is None
    assert nodes[0]["replies"][0]["id"] == reply.id
    assert [e.comment_id for e in events("delete")] == [parent.id]
    assert events("account_deleted")[0].details == {"policy": "remove", "anonymized": 0, "removed": 1}


def test_each_site_applies_its_own_policy_in_one_deletion(client, reader):
    keep = make_comment(make_thread(make_site("news", account_deletion_policy="anonymize")), reader, "Stays.")
    sports = make_site("sports", origins=["https://sports.example.com"], account_deletion_policy="remove")
    gone = make_comment(make_thread(sports), reader, "Goes.")
    summary = client.delete("/api/v1/me", headers=bearer(reader)).get_json()
    assert summary["comments"] == {"anonymized": 1, "removed": 1}
    db.session.expire_all()
    assert db.session.get(Comment, keep.id).body_markdown == "Stays."
    assert db.session.get(Comment, gone.id).status is CommentStatus.DELETED
    assert len(events("account_deleted")) == 2


def test_deletion_is_all_or_nothing(client, reader, monkeypatch):
    site = make_site("news", account_deletion_policy="remove")
    comment = make_comment(make_thread(site), reader, "Survives a failed deletion.")

    def broken(thread_id):
        raise RuntimeError("database went away")

    monkeypatch.setattr(privacy, "touch_thread", broken)
    with pytest.raises(RuntimeError):
        privacy.delete_account(reader)
    db.session.expire_all()
    assert db.session.get(User, reader.id).email == "ann@example.com"
    assert db.session.get(Comment, comment.id).status is CommentStatus.PUBLISHED
    assert db.session.get(Comment, comment.id).body_markdown == "Survives a failed deletion."
    assert events("account_deleted") == [] and events("delete") == []


def test_deleted_sso_reader_signing_in_again_starts_fresh(client, app):
    site = make_site("news")
    user = make_user("Pat", kind=AuthorKind.SSO, sso_site_id=site.id, external_id="42", email="p@x.example")
    privacy.delete_account(user)
    db.session.expire_all()
    assert db.session.get(User, user.id).external_id is None
    assert db.session.scalar(select(User).where(User.external_id == "42")) is None


def test_staff_cannot_delete_themselves_through_the_public_api(client, app):
    staff = make_user("Mo", kind=AuthorKind.ACCOUNT, role=Role.MODERATOR, email="mo@example.com")
    response = client.delete("/api/v1/me", headers=bearer(staff))
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "staff_account"


def test_purge_ips_drops_hashes_older_than_the_retention_period(make_app):
    app = make_app(IP_RETENTION_DAYS=30)
    with app.app_context():
        thread = make_thread(make_site("news"))
        old = make_comment(thread, body="Old.", ip_hash="old-hash", age=timedelta(days=31))
        recent = make_comment(thread, body="Recent.", ip_hash="new-hash", age=timedelta(days=29))
        old_report = Report(comment_id=recent.id, reason=ReportReason.SPAM, ip_hash="r-old",
                            created_at=utcnow() - timedelta(days=40))
        new_report = Report(comment_id=recent.id, reason=ReportReason.SPAM, ip_hash="r-new")
        db.session.add_all([old_report, new_report])
        db.session.commit()
        group = discuss_cli
        result = app.test_cli_runner().invoke(group, ["purge-ips"])
        assert result.exit_code == 0, result.output
        assert "comments=1 reports=1" in result.output
        db.session.expire_all()
        assert db.session.get(Comment, old.id).ip_hash is None
        assert db.session.get(Comment, recent.id).ip_hash == "new-hash"
        assert db.session.get(Report, old_report.id).ip_hash is None
        assert db.session.get(Report, new_report.id).ip_hash == "r-new"
        assert privacy.purge_ip_hashes(days=0) == {"comments": 1, "reports": 1}
