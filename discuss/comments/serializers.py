"""The JSON shapes of a comment, one per audience.

- public: what any reader sees in a thread. A deleted or rejected comment keeps its place
  (so replies stay attached) but carries no author, text or likes.
- author: the public shape plus the Markdown source, for the comment's own author only.
- export: a reader's own comment in their data download, with its article.

The staff shape (scores, reasons, reports, history) is ``moderation.presenters.comment_json``.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from discuss.jobs.mail import public_url
from discuss.models import Comment, CommentStatus, Role, Site, Thread, User, iso
from discuss.models.links import article_link, comment_link

# The columns a public comment is built from: thread pages select exactly these.
PUBLIC_COLUMNS = (Comment.id, Comment.parent_id, Comment.root_id, Comment.depth, Comment.status,
                  Comment.author_id, Comment.author_name, Comment.body_html, Comment.created_at,
                  Comment.edited_at, Comment.likes, Comment.is_featured, User.avatar_url, User.role)
STAFF_ROLES = (Role.MODERATOR, Role.ADMIN)
_VISIBLE = (CommentStatus.PUBLISHED, CommentStatus.PENDING)


def thread_link(thread: Thread, site: Site) -> str | None:
    """What a thread's permalinks start with (see discuss.models.links)."""
    return article_link(thread.url, site=site.slug, article=thread.article_id, base_url=public_url())


def public_comment(row, link: str | None = None) -> dict[str, Any]:
    """From a row of PUBLIC_COLUMNS (or anything with those attributes); ``link`` is the
    thread's ``thread_link``, which the comment's permalink extends with its fragment."""
    visible = row.status in _VISIBLE
    return {
        "id": row.id, "parent_id": row.parent_id, "depth": row.depth,
        "status": row.status.value if visible else "deleted",
        "author": {"id": row.author_id, "name": row.author_name, "avatar_url": row.avatar_url,
                   "staff": row.role in STAFF_ROLES} if visible else None,
        "html": row.body_html if visible else None,
        "created_at": iso(row.created_at), "edited_at": iso(row.edited_at) if visible else None,
        "likes": row.likes if visible else 0, "featured": bool(row.is_featured) and visible,
        "permalink": comment_link(link, row.id), "replies": [],
    }


def public_comment_of(comment: Comment) -> dict[str, Any]:
    fields = {c.key: getattr(comment, c.key) for c in PUBLIC_COLUMNS if c.key not in ("avatar_url", "role")}
    author = comment.author
    row = SimpleNamespace(**fields, avatar_url=author.avatar_url if author else None,
                          role=author.role if author else None)
    return public_comment(row, thread_link(comment.thread, comment.thread.site))


def author_comment(comment: Comment) -> dict[str, Any]:
    return public_comment_of(comment) | {"body_markdown": comment.body_markdown}


def export_comment(comment: Comment, thread: Thread, site: Site) -> dict[str, Any]:
    return {"id": comment.id, "site": site.slug, "article": thread.article_id, "article_url": thread.url,
            "permalink": comment_link(thread_link(thread, site), comment.id),
            "article_title": thread.title, "parent_id": comment.parent_id, "status": comment.status.value,
            "author_name": comment.author_name, "body_markdown": comment.body_markdown,
            "created_at": iso(comment.created_at), "edited_at": iso(comment.edited_at), "likes": comment.likes}


def viewer_summary(user: User) -> dict[str, Any]:
    """Who posted, as the comment endpoints answer it (the /me endpoints give the full profile)."""
    return {"id": user.id, "name": user.display_name, "kind": user.kind.value, "avatar_url": user.avatar_url}
