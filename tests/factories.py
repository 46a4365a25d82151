"""Factories: build rows directly (fast) for tests that need a given state."""
from __future__ import annotations

import itertools
from datetime import timedelta

from discuss.extensions import db
from discuss.identity.tokens import issue_author_token
from discuss.models import (AuthorKind, Ban, Comment, CommentStatus, Role, Site, Thread, User, utcnow)
from discuss.sanitize import html_to_text, render_markdown
from discuss.identity.readers import start_session
from discuss.identity.sso import set_sso_secret
from discuss.models.queries import touch_thread

ORIGIN = "https://news.example.com"
_counter = itertools.count(1)


def make_site(slug: str = "news", origins: list[str] | None = None, *, sso: bool = False, **settings) -> Site:
    """A site; ``sso=True`` also gives it an SSO signing secret. Other keywords are its settings."""
    site = Site(slug=slug, name=slug.title(), allowed_origins=origins or [ORIGIN], settings=settings)
    db.session.add(site)
    db.session.commit()
    if sso:
        set_sso_secret(site)
    return site


def make_user(name: str | None = None, kind: AuthorKind = AuthorKind.GUEST, role: Role = Role.READER,
              **fields) -> User:
    user = User(display_name=name or f"Reader {next(_counter)}", kind=kind, role=role, **fields)
    db.session.add(user)
    db.session.commit()
    return user


def token_for(user: User) -> dict[str, str]:
    """The header of the author token a guest gets when posting."""
    return {"Authorization": f"Bearer {issue_author_token(user)}"}


def bearer(who: str | User) -> dict[str, str]:
    """An Authorization header: for a token as given, or for a user, a new reader session's token."""
    token = start_session(who, "password").token if isinstance(who, User) else who
    return {"Authorization": f"Bearer {token}"}


def make_thread(site: Site, article: str = "article-1", **fields) -> Thread:
    thread = Thread(site_id=site.id, article_id=article, url=f"{ORIGIN}/{article}", title=article.title(),
                    **fields)
    db.session.add(thread)
    db.session.commit()
    return thread


def make_comment(thread: Thread, author: User | None = None, body: str = "A thoughtful comment.",
                 status: CommentStatus = CommentStatus.PUBLISHED, parent: Comment | None = None,
                 age: timedelta | None = None, reasons: list[str] | None = None, **fields) -> Comment:
    author = author or make_user()
    html = render_markdown(body)
    comment = Comment(thread_id=thread.id, author_id=author.id, author_name=author.display_name,
                      body_markdown=body, body_html=html, body_text=html_to_text(html), status=status,
                      reasons=reasons or [], parent_id=parent.id if parent else None,
                      depth=parent.depth + 1 if parent else 0, **fields)
    if age is not None:
        comment.created_at = utcnow() - age
    db.session.add(comment)
    db.session.flush()
    comment.root_id = parent.root_id if parent else comment.id
    touch_thread(thread.id)
    db.session.commit()
    return comment


def ban(site: Site, user: User, days: int | None = None) -> Ban:
    entry = Ban(site_id=site.id, user_id=user.id, until=utcnow() + timedelta(days=days) if days else None)
    db.session.add(entry)
    db.session.commit()
    return entry
