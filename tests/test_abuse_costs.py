"""Abuse that costs the abuser (issue 15): votes, reports, bans that cover an address, and
verification emails nobody can turn into a mail cannon."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from discuss.extensions import db
from discuss.jobs import mail
from discuss.models import AuthorKind, Ban, Comment, Report, ReportReason, Role, User, Vote
from tests.dashboard_support import make_staff, sign_in
from tests.factories import bearer, make_comment, make_site, make_thread, make_user, token_for
from tests.support.api import DEFAULT_POST, post_comment, sign_up


def from_ip(ip: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": ip}}


def post_from(client, ip: str, body: str, name: str = "Ann"):
    return client.post("/api/v1/comments", json={**DEFAULT_POST, "body": body, "author_name": name}, **from_ip(ip))


def users() -> int:
    return db.session.scalar(select(func.count(User.id)))


# -- votes --------------------------------------------------------------------------------------

def test_tokenless_votes_count_once_per_address_and_mint_no_user(client, app):
    comment = make_comment(make_thread(make_site()))
    before = users()
    for _ in range(5):
        response = client.post(f"/api/v1/comments/{comment.id}/votes", json={"value": 1}, **from_ip("203.0.113.5"))
        assert response.status_code == 200 and response.get_json() == {"likes": 1, "value": 1}
    other = client.post(f"/api/v1/comments/{comment.id}/votes", json={"value": 1}, **from_ip("198.51.100.7"))
    assert other.get_json()["likes"] == 2
    undo = client.post(f"/api/v1/comments/{comment.id}/votes", json={"value": 0}, **from_ip("203.0.113.5"))
    assert undo.get_json()["likes"] == 1
    assert users() == before  # no guest rows
    assert db.session.scalar(select(func.count(Vote.id))) == 2


def test_a_reader_votes_once_whatever_the_address(client, app):
    comment = make_comment(make_thread(make_site()))
    reader = make_user("Liker")
    for ip in ("203.0.113.5", "198.51.100.7", "192.0.2.1"):
        response = client.post(f"/api/v1/comments/{comment.id}/votes", json={"value": 1}, headers=token_for(reader),
                               **from_ip(ip))
        assert response.get_json()["likes"] == 1


def test_the_database_keeps_one_vote_per_address_per_comment(app):
    comment = make_comment(make_thread(make_site()))
    db.session.add_all([Vote(comment_id=comment.id, ip_hash="h1", value=1),
                        Vote(comment_id=comment.id, ip_hash="h1", value=1)])
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


# -- reports ------------------------------------------------------------------------------------

def test_the_database_keeps_one_report_per_reader_per_comment(app):
    comment = make_comment(make_thread(make_site()))
    reader = make_user()
    for same_reader in ({"user_id": reader.id, "ip_hash": "a"}, {"user_id": None, "ip_hash": "anon"}):
        db.session.add_all([Report(comment_id=comment.id, reason=ReportReason.SPAM, **same_reader),
                            Report(comment_id=comment.id, reason=ReportReason.SPAM, **same_reader)])
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
    # Different anonymous readers, and readers whose IP hash was purged, are not conflated.
    db.session.add_all([Report(comment_id=comment.id, reason=ReportReason.SPAM, ip_hash="x"),
                        Report(comment_id=comment.id, reason=ReportReason.SPAM, ip_hash="y"),
                        Report(comment_id=comment.id, reason=ReportReason.SPAM, ip_hash=None),
                        Report(comment_id=comment.id, reason=ReportReason.SPAM, ip_hash=None)])
    db.session.commit()


def test_a_duplicate_report_that_gets_past_the_check_is_a_409(client, app, monkeypatch):
    """Two concurrent reports both pass the read check; the constraint refuses the second."""
    comment = make_comment(make_thread(make_site()))
    reader = make_user()
    url = f"/api/v1/comments/{comment.id}/reports"
    assert client.post(url, json={"reason": "spam"}, headers=token_for(reader)).status_code == 201
    from discuss.comments import reactions
    real_scalar = db.session.scalar
    monkeypatch.setattr(db.session, "scalar", lambda q, *a, **k: None if "report" in str(q).lower()
                        and "report.id" in str(q).lower() else real_scalar(q, *a, **k))
    again = client.post(url, json={"reason": "spam"}, headers=token_for(reader))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_reported"
    monkeypatch.undo()
    assert db.session.scalar(select(func.count(Report.id))) == 1
    assert db.session.get(Comment, comment.id).report_count == 1
    assert reactions  # imported for the patch target's module


# -- bans ---------------------------------------------------------------------------------------

def _ban(app, author_id: int, site_slug: str = "news", **body):
    admin = make_staff("chief@example.com", Role.ADMIN)
    staff = app.test_client()
    sign_in(staff, admin)
    return staff.post(f"/api/v1/moderation/authors/{author_id}/ban", json={"site": site_slug, "days": 3, **body})


def test_a_ban_covers_the_authors_address_so_a_new_guest_is_held(client, app):
    make_site()
    assert post_from(client, "203.0.113.5", "First words").status_code == 201
    response = _ban(app, db.session.scalar(select(Comment.author_id)))
    assert response.status_code == 201 and response.get_json()["ban"]["covers_ip_until"]
    # No token, new name: a new guest, same address.
    evading = post_from(client, "203.0.113.5", "I am someone else entirely", name="Zed")
    assert evading.status_code == 202
    held = db.session.get(Comment, evading.get_json()["comment"]["id"])
    assert held.reasons == ["ban_evasion"]
    elsewhere = post_from(client, "198.51.100.7", "Hello from elsewhere", name="Amy")
    assert elsewhere.status_code == 201


def test_the_address_cover_is_a_site_setting(client, app):
    make_site(ban_ip_days=0)
    post_from(client, "203.0.113.5", "First words")
    response = _ban(app, db.session.scalar(select(Comment.author_id)))
    assert response.get_json()["ban"]["covers_ip_until"] is None
    assert post_from(client, "203.0.113.5", "Someone else", name="Zed").status_code == 201


def test_account_readers_can_be_banned_by_email(client, app):
    make_site()
    registered = sign_up(client, email="ann@example.com", password="reader password 1")
    token = registered.get_json()["token"]
    admin = make_staff("chief@example.com", Role.ADMIN)
    staff = app.test_client()
    sign_in(staff, admin)
    response = staff.post("/api/v1/moderation/bans", json={"site": "news", "email": "ann@example.COM", "days": 2})
    assert response.status_code == 201
    assert db.session.scalar(select(Ban)).user_id == registered.get_json()["viewer"]["id"]
    posted = post_comment(client, "Still here?", token=token, name=None)
    assert posted.get_json()["status"] == "rejected"
    missing = staff.post("/api/v1/moderation/bans", json={"site": "news", "email": "nobody@example.com"})
    assert missing.status_code == 404


# -- verification emails ------------------------------------------------------------------------

@pytest.fixture
def mail_app(make_app, monkeypatch):
    outbox = []
    monkeypatch.setattr(mail, "send", outbox.append)
    app = make_app(RATELIMIT_ENABLED=True, RATE_LIMIT_LOGIN="1000/minute", MAIL_DELIVERY="inline",
                   PUBLIC_URL="https://comments.example", RATE_LIMIT_VERIFY_PER_ADDRESS="2/hour",
                   RATE_LIMIT_VERIFY_PER_IP="3/hour")
    with app.app_context():
        make_site()
        yield app, outbox


def test_sign_up_emails_are_limited_per_address(mail_app):
    app, outbox = mail_app
    client = app.test_client()
    codes = [client.post("/api/v1/auth/register", json={"email": "ann@example.com", "password": "reader password 1",
                                                        "display_name": "Ann"}, **from_ip(f"192.0.2.{i + 10}")).status_code
             for i in range(3)]
    assert codes == [202, 202, 429]
    assert len(outbox) == 2 and {m.to for m in outbox} == {"ann@example.com"}


def test_verification_emails_are_limited_per_address(mail_app):
    app, outbox = mail_app
    client = app.test_client()
    user = make_user("Ann", kind=AuthorKind.ACCOUNT, email="ann@example.com")  # an account from before sign-up links
    token = bearer(user)["Authorization"].split()[1]
    codes = [client.post("/api/v1/auth/verify/resend", headers={"Authorization": f"Bearer {token}"},
                         **from_ip(f"192.0.2.{i + 10}")).status_code for i in range(3)]
    assert codes == [202, 202, 429]
    assert len(outbox) == 2 and {m.to for m in outbox} == {"ann@example.com"}


def test_verification_emails_are_limited_per_ip(mail_app):
    app, outbox = mail_app
    client = app.test_client()
    codes = [client.post("/api/v1/auth/register", json={
        "email": f"victim{i}@example.com", "password": "reader password 1", "display_name": "V"},
        **from_ip("203.0.113.9")).status_code for i in range(6)]
    assert codes == [202, 202, 202, 429, 429, 429]
    assert len(outbox) == 3
