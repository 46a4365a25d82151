"""Helpers for dashboard and moderation tests: staff accounts, sign-in, a seeded queue."""
from __future__ import annotations

from dataclasses import dataclass

from flask import g, has_app_context
from werkzeug.security import generate_password_hash

from discuss.extensions import db
from discuss.models import AuthorKind, Comment, CommentStatus, Role, Site, Thread, User
from tests.factories import make_comment, make_site, make_thread, make_user

PASSWORD = "correct horse battery"
# Cheap hashing keeps the suite fast; production uses werkzeug's default (scrypt).
FAST_HASH = "pbkdf2:sha256:1000"
ROLES = ("anonymous", "reader", "other_moderator", "moderator", "admin")


def make_staff(email: str, role: Role = Role.MODERATOR, sites: list[Site] | None = None) -> User:
    user = User(kind=AuthorKind.ACCOUNT, role=role, display_name=email.split("@")[0], email=email,
                password_hash=generate_password_hash(PASSWORD, method=FAST_HASH),
                moderated_site_ids=[s.id for s in sites or []])
    db.session.add(user)
    db.session.commit()
    return user


def forget_cached_user() -> None:
    """The app fixture keeps one app context pushed, so ``g`` (where Flask-Login caches the
    current user, and Flask-WTF the CSRF token) outlives a request; drop both when a test
    switches who is signed in or which client is talking."""
    if has_app_context():
        g.pop("_login_user", None)
        g.pop("csrf_token", None)


def sign_in(client, user: User | None) -> None:
    """Put a user in the session the way Flask-Login does (no password round trip)."""
    forget_cached_user()
    with client.session_transaction() as session:
        session.clear()
        if user is not None:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True


@dataclass
class World:
    site: Site
    other_site: Site
    thread: Thread
    other_thread: Thread
    author: User
    pending: Comment
    toxic: Comment
    published: Comment
    reported: Comment
    rejected: Comment
    foreign_pending: Comment
    users: dict[str, User | None]


def build_world() -> World:
    """Two sites, one comment in each state on the first, a pending one on the second, and staff."""
    site, other_site = make_site("news"), make_site("sports")
    thread = make_thread(site, "budget-vote")
    other_thread = make_thread(other_site, "cup-final")
    author = make_user("Ada")
    published = make_comment(thread, author, "Good reporting on the budget.")
    pending = make_comment(thread, author, "Held for premoderation.", status=CommentStatus.PENDING,
                           reasons=["premoderation:new_commenter"], parent=published)
    toxic = make_comment(thread, make_user("Troll"), "You idiot.", status=CommentStatus.PENDING,
                         reasons=["toxicity:insult"], scores={"toxicity": 0.91, "insult": 0.88, "threat": 0.02})
    reported = make_comment(thread, make_user("Bob"), "Reported but fine.", report_count=2)
    rejected = make_comment(thread, make_user("Spammer"), "Buy pills", status=CommentStatus.REJECTED,
                            reasons=["banned_word"])
    foreign = make_comment(other_thread, make_user("Cara"), "Other site comment.", status=CommentStatus.PENDING)
    users = {
        "anonymous": None,
        "reader": make_user("Reader", kind=AuthorKind.ACCOUNT, email="reader@example.com"),
        "other_moderator": make_staff("othermod@example.com", Role.MODERATOR, [other_site]),
        "moderator": make_staff("mod@example.com", Role.MODERATOR, [site]),
        "admin": make_staff("admin@example.com", Role.ADMIN),
    }
    return World(site, other_site, thread, other_thread, author, pending, toxic, published, reported,
                 rejected, foreign, users)
