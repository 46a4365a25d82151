"""Live updates: what an open widget polls to learn that its thread changed, and what is new.

The poll must cost almost nothing, because every open widget asks every few seconds whether
anything happened (and almost always nothing did). Each process keeps the answer per thread,
ready to send, for ``STATE_TTL_SECONDS``: a thousand widgets on one story cost a small query or
two per second per process, and the HTTP layer answers most polls with 304 Not Modified (ETag).
When a comment appears, the answer carries the newest comments, so the burst of widgets that
notice it at once need no second request. A cache or CDN in
front may keep the answer for a second as well (``s-maxage``), so the origin sees one poll per
edge per second whatever the audience. README "Live updates" explains why polling, not SSE.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select

from discuss.comments.serializers import PUBLIC_COLUMNS, public_comment, thread_link
from discuss.errors import ApiError
from discuss.extensions import db
from discuss.models import Comment, CommentStatus, Site, Thread, User

STATE_TTL_SECONDS = 0.5
MAX_NEW = 100


RECENT = 20  # newest comments sent with a changed state, so most widgets need no second request


@dataclass(frozen=True)
class LiveState:
    etag: str
    body: bytes  # the JSON answer, built once per refresh and served as is
    revision: int
    last_id: int
    recent: tuple = ()


class _StateCache:
    def __init__(self):
        self._items: dict[tuple[str, str], tuple[float, LiveState]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> LiveState | None:
        item = self._items.get(key)
        return item[1] if item is not None and time.monotonic() - item[0] < STATE_TTL_SECONDS else None

    def previous(self, key: tuple[str, str]) -> LiveState | None:
        item = self._items.get(key)
        return item[1] if item is not None else None

    def put(self, key: tuple[str, str], value: LiveState) -> None:
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (time.monotonic(), value)


def _cache() -> _StateCache:
    from flask import current_app

    return state_cache(current_app)


def state_cache(app) -> _StateCache:
    return app.extensions.setdefault("discuss.live_state", _StateCache())


def last_published_id(thread_id: int) -> int:
    return db.session.scalar(select(func.max(Comment.id)).where(
        Comment.thread_id == thread_id, Comment.status == CommentStatus.PUBLISHED)) or 0


def thread_state(site_slug: str, article_id: str, poll_seconds: int) -> LiveState:
    """The answer to a poll: ``{revision, last_id, published_count, poll_seconds, recent}``.
    revision changes on every visible change; last_id (the newest published comment) only when
    a comment appears; recent holds the newest RECENT published comments, oldest first (when it
    is full and starts after the widget's last id, the widget asks /live/new for the rest)."""
    key = (site_slug, article_id)
    cache = _cache()
    cached = cache.get(key)
    if cached is not None:
        return cached
    row = db.session.execute(select(Site, Thread).outerjoin(
        Thread, and_(Thread.site_id == Site.id, Thread.article_id == article_id)).where(Site.slug == site_slug)).first()
    if row is None:
        raise ApiError("unknown_site", f"No site '{site_slug}' is registered here.", 404)
    site, thread = row
    revision = thread.revision if thread else 0
    previous = cache.previous(key)
    if previous is not None and previous.revision == revision:
        last_id, recent = previous.last_id, previous.recent
    else:
        last_id = last_published_id(thread.id) if thread else 0
        recent = tuple(reversed(new_comments(site, thread, 0, newest=RECENT))) if thread else ()
    body = {"revision": revision, "last_id": last_id, "published_count": thread.published_count if thread else 0,
            "poll_seconds": poll_seconds, "recent": list(recent)}
    state = LiveState(f"{revision}.{last_id}", json.dumps(body, separators=(",", ":")).encode(), revision,
                      last_id, recent)
    db.session.rollback()  # end the read transaction: no connection idles between polls
    cache.put(key, state)
    return state


def new_comments(site: Site, thread: Thread | None, after: int, newest: int | None = None) -> list[dict[str, Any]]:
    """Published comments newer than ``after``, oldest first (flat; parent_id places replies);
    with ``newest``, only that many of the newest, newest first."""
    if thread is None:
        return []
    order = Comment.id.desc() if newest else Comment.id
    rows = db.session.execute(
        select(*PUBLIC_COLUMNS).join(User, User.id == Comment.author_id)
        .where(Comment.thread_id == thread.id, Comment.id > after, Comment.status == CommentStatus.PUBLISHED)
        .order_by(order).limit(newest or MAX_NEW)).all()
    link = thread_link(thread, site)
    return [public_comment(row, link) for row in rows]
