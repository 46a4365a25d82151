"""Published comments of one thread as a tree, for the server-rendered read-only page.

Queries the models directly; swap for the API's read service once it exists so both surfaces
share one definition of "visible".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from discuss.extensions import db
from discuss.models import Comment, CommentStatus, Site, Thread
from discuss.services.threads import find_thread

MAX_READ_COMMENTS = 2000


@dataclass
class ReadComment:
    id: int
    author_name: str | None
    html: str | None  # None for a deleted placeholder
    created_at: datetime
    edited: bool
    replies: list["ReadComment"] = field(default_factory=list)


def published_thread(site: Site, article_id: str) -> tuple[Thread | None, list[ReadComment]]:
    thread = find_thread(site.id, article_id)
    if thread is None:
        return None, []
    rows = db.session.scalars(
        select(Comment)
        .where(Comment.thread_id == thread.id,
               Comment.status.in_([CommentStatus.PUBLISHED, CommentStatus.DELETED]))
        .order_by(Comment.created_at, Comment.id)
        .limit(MAX_READ_COMMENTS))
    nodes: dict[int, ReadComment] = {}
    parents: dict[int, int | None] = {}
    for c in rows:
        published = c.status == CommentStatus.PUBLISHED
        nodes[c.id] = ReadComment(c.id, c.author_name if published else None,
                                  c.body_html if published else None, c.created_at, bool(c.edited_at))
        parents[c.id] = c.parent_id
    roots: list[ReadComment] = []
    for cid, node in nodes.items():
        parent = parents[cid]
        if parent is not None and parent in nodes:
            nodes[parent].replies.append(node)
        elif parent is None:
            roots.append(node)
        # a reply whose parent is hidden (pending/rejected) is hidden with it

    def prune(items: list[ReadComment]) -> list[ReadComment]:
        kept = []
        for item in items:
            item.replies = prune(item.replies)
            if item.html is not None or item.replies:  # deleted ones stay only as placeholders
                kept.append(item)
        return kept

    return thread, prune(roots)
