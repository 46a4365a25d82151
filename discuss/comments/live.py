"""Live updates: what an open widget polls to learn that its thread changed, and what is new.

The poll must cost almost nothing, because every open widget asks every few seconds whether
anything happened (and almost always nothing did). Each process keeps the answer per thread for
``STATE_TTL_SECONDS``: a thousand widgets on one story cost one small query per second per
process, and the HTTP layer answers most polls with 304 Not Modified (ETag). A cache or CDN in
front may keep the answer for a second as well (``s-maxage``), so the origin sees one poll per
edge per second whatever the audience. README "Live updates" explains why polling, not SSE.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import and_, func, select

from discuss.comments.serializers import PUBLIC_COLUMNS, public_comment, thread_link
from discuss.errors import ApiError
from discuss.extensions import db
from discuss.models import Comment, CommentStatus, Site, Thread, User

STATE_TTL_SECONDS = 1.0
MAX_NEW = 100


class _StateCache:
    def __init__(self):
        self._items: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> dict[str, Any] | None:
        item = self._items.get(key)
        return item[1] if item is not None and time.monotonic() - item[0] < STATE_TTL_SECONDS else None

    def put(self, key: tuple[str, str], value: dict[str, Any]) -> None:
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (time.monotonic(), value)


def _cache() -> _StateCache:
    from flask import current_app

    return current_app.extensions.setdefault("discuss.live_state", _StateCache())


def last_published_id(thread_id: int) -> int:
    return db.session.scalar(select(func.max(Comment.id)).where(
        Comment.thread_id == thread_id, Comment.status == CommentStatus.PUBLISHED)) or 0


def thread_state(site_slug: str, article_id: str) -> dict[str, Any]:
    """``{revision, last_id, published_count}``; revision changes on every visible change,
    last_id (the newest published comment) only when a comment appears."""
    key = (site_slug, article_id)
    cached = _cache().get(key)
    if cached is not None:
        return cached
    row = db.session.execute(select(Site.id, Thread.id, Thread.revision, Thread.published_count).outerjoin(
        Thread, and_(Thread.site_id == Site.id, Thread.article_id == article_id)).where(Site.slug == site_slug)).first()
    if row is None:
        raise ApiError("unknown_site", f"No site '{site_slug}' is registered here.", 404)
    _, thread_id, revision, count = row
    state = {"revision": revision or 0, "last_id": last_published_id(thread_id) if thread_id else 0,
             "published_count": count or 0}
    db.session.rollback()  # end the read transaction: no connection idles between polls
    _cache().put(key, state)
    return state


def new_comments(site: Site, thread: Thread | None, after: int) -> list[dict[str, Any]]:
    """Published comments newer than ``after``, oldest first (flat; parent_id places replies)."""
    if thread is None:
        return []
    rows = db.session.execute(
        select(*PUBLIC_COLUMNS).join(User, User.id == Comment.author_id)
        .where(Comment.thread_id == thread.id, Comment.id > after, Comment.status == CommentStatus.PUBLISHED)
        .order_by(Comment.id).limit(MAX_NEW)).all()
    link = thread_link(thread, site)
    return [public_comment(row, link) for row in rows]
