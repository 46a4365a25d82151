"""Email delivered to a real SMTP server (aiosmtpd) started by the tests: verification, replies,
one-click unsubscribe, and the moderators' pending digest, sent from a thread or an RQ worker."""
from __future__ import annotations

import email
import re
import socket
import threading
import time
from email import policy
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller

from discuss.extensions import db
from discuss.cli import discuss_cli
from discuss.models import AuthorKind, CommentStatus, Role, User
from discuss.jobs import notifications
from discuss.identity import readers
from discuss.identity.staff import create_staff
from tests.factories import bearer, make_comment, make_site, make_thread, make_user
from tests.support.api import post_comment

PUBLIC_URL = "http://comments.test"
PASSWORD = "correct horse battery"


class Inbox:
    """aiosmtpd handler that keeps parsed messages and lets tests wait for them."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self._arrived:
            self.messages.append(message)
            self.recipients.append(list(envelope.rcpt_tos))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[email.message.EmailMessage]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} emails, got {len(self.messages)}")
                self._arrived.wait(left)
            return list(self.messages)

    def stays_at(self, count: int, wait: float = 0.5) -> bool:
        time.sleep(wait)
        return len(self.messages) == count


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def app_config(smtp):
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp.port, "PUBLIC_URL": PUBLIC_URL,
            "MAIL_FROM": "comments@news.example.com"}


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message, path: str) -> str:
    return re.search(rf"{re.escape(PUBLIC_URL)}{re.escape(path)}\?token=[\w.\-]+", text_of(message)).group(0)


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def subscribed_reader(client, smtp) -> str:
    """Sign up, open the emailed link (which creates the account, its address confirmed), sign in,
    opt in to replies; returns the token."""
    assert client.post("/api/v1/auth/register", json={"email": "ann@example.com", "password": PASSWORD,
                                                      "display_name": "Ann"}).status_code == 202
    [confirmation] = smtp.wait_for(1)
    assert confirmation["To"] == "ann@example.com"
    confirmed = client.get(local(link_in(confirmation, "/api/v1/auth/register/confirm")))
    assert confirmed.get_json()["confirmed"] is True
    token = client.post("/api/v1/auth/login", json={"email": "ann@example.com", "password": PASSWORD}).get_json()["token"]
    client.patch("/api/v1/me", headers=bearer(token), json={"notify_replies": True})
    return token


def test_resending_emails_a_working_verification_link(app, site, smtp):
    """Accounts from before sign-ups were confirmed by email can still confirm their address."""
    client = app.test_client()
    user = User(kind=AuthorKind.ACCOUNT, email="ann@example.com", display_name="Ann", moderated_site_ids=[])
    db.session.add(user)
    db.session.commit()
    token = bearer(user)["Authorization"].split()[1]
    assert client.post("/api/v1/auth/verify/resend", headers=bearer(token)).status_code == 202
    [message] = smtp.wait_for(1)
    assert message["Subject"] == "Confirm your email address"
    assert message["From"] == "comments@news.example.com"
    link = link_in(message, "/api/v1/auth/verify")
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["viewer"]["email_verified"] is False
    page = client.get(local(link), headers={"Accept": "text/html"})
    assert page.status_code == 200 and "confirmed" in page.get_data(as_text=True)
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["viewer"]["email_verified"] is True


def test_reply_emails_the_opted_in_author_and_the_link_unsubscribes(app, site, smtp):
    client = app.test_client()
    token = subscribed_reader(client, smtp)
    parent = post_comment(client, "Budgets should be public.", token=token, name=None).get_json()["comment"]
    reply = post_comment(client, "Agreed, and **searchable**.", name="Bob", parent_id=parent["id"])
    assert reply.status_code == 201
    message = smtp.wait_for(2)[1]
    assert smtp.recipients[1] == ["ann@example.com"]
    assert message["Subject"] == "Bob replied to your comment"
    body = text_of(message)
    assert "Agreed, and searchable." in body and "Budgets should be public." in body
    assert "https://news.example.com/article-1" in body
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Agreed, and searchable." in html and "Unsubscribe" in html
    link = link_in(message, "/api/v1/unsubscribe")
    assert message["List-Unsubscribe"] == f"<{link}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    page = client.get(local(link), headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Unsubscribed" in page.get_data(as_text=True)
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["viewer"]["notify_replies"] is False
    post_comment(client, "Another reply nobody is told about.", name="Cy", parent_id=parent["id"])
    assert smtp.stays_at(2)


def test_one_click_unsubscribe_by_post(app, site, smtp):
    user = make_user("Ann", kind=AuthorKind.ACCOUNT, email="ann@example.com", email_verified=True,
                     notify_replies=True)
    url = notifications.unsubscribe_url(PUBLIC_URL, user, "replies")
    response = app.test_client().post(local(url), data="List-Unsubscribe=One-Click",
                                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.get_json() == {"unsubscribed": "replies"}
    db.session.refresh(user)
    assert user.notify_replies is False
    forged = app.test_client().get("/api/v1/unsubscribe?token=" + url.rsplit("=", 1)[1][:-3] + "abc")
    assert forged.status_code == 400 and forged.get_json()["error"]["code"] == "invalid_link"


@pytest.mark.parametrize("case", ["not_opted_in", "unverified", "own_reply", "held_reply"])
def test_no_email_when_the_author_should_not_get_one(app, site, smtp, case):
    author = make_user("Ann", kind=AuthorKind.ACCOUNT, email="ann@example.com",
                       email_verified=case != "unverified", notify_replies=case != "not_opted_in")
    thread = make_thread(site)
    parent = make_comment(thread, author, "Parent.")
    status = CommentStatus.PENDING if case == "held_reply" else CommentStatus.PUBLISHED
    reply = make_comment(thread, author if case == "own_reply" else make_user("Bob"), "Reply.", parent=parent,
                         status=status)
    assert notifications.notify_reply_published(reply.id) is False
    assert smtp.stays_at(0, wait=0.2)


def test_a_reply_is_announced_once_whatever_calls_the_hook(app, site, smtp):
    author = make_user("Ann", kind=AuthorKind.ACCOUNT, email="ann@example.com", email_verified=True,
                       notify_replies=True)
    thread = make_thread(site)
    reply = make_comment(thread, make_user("Bob"), "Held, then approved.", status=CommentStatus.PENDING,
                         parent=make_comment(thread, author, "Parent."))
    assert notifications.notify_reply_published(reply.id) is False
    reply.status = CommentStatus.PUBLISHED  # a moderator approved it
    db.session.commit()
    assert notifications.send_reply_notification(reply.id, PUBLIC_URL) is True
    assert notifications.send_reply_notification(reply.id, PUBLIC_URL) is False
    assert notifications.notify_reply_published(reply.id) is False
    smtp.wait_for(1)
    assert smtp.stays_at(1, wait=0.3)


def test_sso_readers_email_counts_as_verified(app, site, smtp):
    sso_user = make_user("Pat", kind=AuthorKind.SSO, sso_site_id=site.id, external_id="42",
                         email="pat@news.example.com", email_verified=True, notify_replies=True)
    thread = make_thread(site)
    parent = make_comment(thread, sso_user, "Subscriber's view.")
    post_comment(app.test_client(), "A reply to Pat.", name="Bob", parent_id=parent.id)
    [message] = smtp.wait_for(1)
    assert message["To"] == "pat@news.example.com"


def test_reply_email_goes_through_the_rq_queue_when_configured(make_app, smtp, redis_url):
    app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, PUBLIC_URL=PUBLIC_URL, SCORING="queue",
                   REDIS_URL=redis_url)
    with app.app_context():
        site = make_site("news")
        author = make_user("Ann", kind=AuthorKind.ACCOUNT, email="ann@example.com", email_verified=True,
                           notify_replies=True)
        thread = make_thread(site)
        reply = make_comment(thread, make_user("Bob"), "Queued reply.", parent=make_comment(thread, author, "P."))
        assert notifications.notify_reply_published(reply.id) is True
        assert smtp.stays_at(0, wait=0.3)  # nothing sent until a worker runs the job
        from discuss.jobs.runner import run_worker

        run_worker(burst=True)
        [message] = smtp.wait_for(1)
    assert "Queued reply." in text_of(message)


def test_digest_emails_each_opted_in_moderator_their_pending_queue(app, smtp):
    news = make_site("news")
    sports = make_site("sports", origins=["https://sports.example.com"])
    mod = create_staff("mod@example.com", PASSWORD, site_ids=[news.id])
    quiet = create_staff("quiet@example.com", PASSWORD, site_ids=[sports.id])
    create_staff("optout@example.com", PASSWORD, site_ids=[news.id])
    thread = make_thread(news)
    make_comment(thread, make_user("Spammer"), "Buy cheap pills now", status=CommentStatus.PENDING,
                 reasons=["words:suspect"])
    make_comment(thread, make_user("Bob"), "Second held comment", status=CommentStatus.PENDING)
    make_comment(thread, make_user("Cy"), "Published, not in the digest")
    group = discuss_cli
    runner = app.test_cli_runner()
    for email_address in ("mod@example.com", "quiet@example.com"):
        assert runner.invoke(group, ["digest", email_address]).exit_code == 0
    result = runner.invoke(group, ["send-digest"])
    assert result.exit_code == 0, result.output
    assert "sent=1 empty=1 failed=0" in result.output
    [message] = smtp.wait_for(1)
    assert smtp.recipients == [["mod@example.com"]]
    assert message["Subject"] == "2 comments awaiting review"
    body = text_of(message)
    assert "Buy cheap pills now" in body and "words:suspect" in body and "Published, not" not in body
    assert f"{PUBLIC_URL}/mod/queue/pending" in body
    unsubscribe = link_in(message, "/api/v1/unsubscribe")
    app.test_client().get(local(unsubscribe))
    db.session.expire_all()
    assert db.session.get(User, mod.id).notify_digest is False
    assert db.session.get(User, quiet.id).notify_digest is True and quiet.role is Role.MODERATOR


def test_staff_opt_in_to_the_digest_through_the_api(app, smtp):
    make_site("news")
    create_staff("mod@example.com", PASSWORD, admin=True)
    token = readers.authenticate("mod@example.com", PASSWORD).token
    response = app.test_client().patch("/api/v1/me", headers=bearer(token), json={"notify_digest": True})
    assert response.status_code == 200 and response.get_json()["viewer"]["is_staff"] is True
    assert [u.email for u in notifications.digest_recipients()] == ["mod@example.com"]
