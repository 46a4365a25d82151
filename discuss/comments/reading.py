"""Reading a thread: a nested tree of published comments, paginated by top-level comment.

Reads dominate writes by orders of magnitude, so a rendered page is cached per process,
keyed on the thread's revision: any write bumps the revision in the database, so every
process (and every machine) stops serving the old page at once, with no shared memory.
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, false, func, or_, select, true
from sqlalchemy.orm import aliased

from discuss.errors import ApiError, NotFound
from discuss.security import ID_MAX
from discuss.extensions import db
from discuss.comments.serializers import PUBLIC_COLUMNS as _COLUMNS
from discuss.comments.live import last_published_id
from discuss.comments.serializers import public_comment, public_comment_of, thread_link
from discuss.models import Comment, CommentStatus, Site, Thread, User
from discuss.models.queries import thread_closed

SORTS = ("oldest", "newest", "top")
_PLACEHOLDER_STATUSES = (CommentStatus.DELETED, CommentStatus.REJECTED)


@dataclass(frozen=True)
class PageRequest:
    sort: str = "oldest"
    limit: int = 50
    cursor: str | None = None


def public_settings(site: Site) -> dict[str, Any]:
    s = site.effective_settings()
    return {"max_depth": s["max_depth"], "edit_window_seconds": int(s["edit_window_minutes"]) * 60,
            "allowed_identities": s["allowed_identities"], "require_guest_email": s["require_guest_email"],
            "toxicity_nudge": s["toxicity_nudge"], "account_deletion_policy": s["account_deletion_policy"],
            "proof_of_work": s.get("proof_of_work", "off")}


# -- cursor ------------------------------------------------------------------------------------

def encode_cursor(sort: str, featured: bool, likes: int, comment_id: int) -> str:
    raw = json.dumps([sort, int(featured), likes, comment_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[bool, int, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        cursor_sort, featured, likes, comment_id = json.loads(base64.urlsafe_b64decode(padded))
        if cursor_sort != sort or not all(isinstance(v, int) and abs(v) <= ID_MAX
                                          for v in (featured, likes, comment_id)):
            raise ValueError
    except (ValueError, TypeError, RecursionError):
        raise ApiError("invalid_cursor", "The cursor is not valid for this sort.", 400) from None
    return bool(featured), likes, comment_id


def _after_cursor(sort: str, cursor: str | None):
    if cursor is None:
        return true()
    featured, likes, cid = decode_cursor(cursor, sort)
    # Featured comments come first in every sort; the keyset continues inside each group.
    later_group = Comment.is_featured.is_(false()) if featured else false()
    same_group = Comment.is_featured.is_(true()) if featured else Comment.is_featured.is_(false())
    if sort == "oldest":
        within = Comment.id > cid
    elif sort == "newest":
        within = Comment.id < cid
    else:
        within = or_(Comment.likes < likes, and_(Comment.likes == likes, Comment.id > cid))
    return or_(later_group, and_(same_group, within))


def _order(sort: str):
    if sort == "oldest":
        return (Comment.is_featured.desc(), Comment.id.asc())
    if sort == "newest":
        return (Comment.is_featured.desc(), Comment.id.desc())
    return (Comment.is_featured.desc(), Comment.likes.desc(), Comment.id.asc())


# -- tree --------------------------------------------------------------------------------------

def _visible_roots(thread: Thread) -> tuple:
    """Top-level comments a reader sees: published ones, and placeholders with published replies."""
    # One probe of ix_comment_root per placeholder root, not IN over every published reply of the
    # thread: the page then walks ix_comment_thread_roots in order and stops at the page size
    # (bench/scale.py, a 50,000-comment thread). A scalar subquery with LIMIT 1, because PostgreSQL
    # turns IN and EXISTS into one hashed pass over the whole thread's replies.
    reply = aliased(Comment)
    has_published_reply = (select(reply.id)
                           .where(reply.root_id == Comment.id, reply.thread_id == thread.id, reply.depth > 0,
                                  reply.status == CommentStatus.PUBLISHED)
                           .limit(1).scalar_subquery().is_not(None))
    return (Comment.thread_id == thread.id, Comment.parent_id.is_(None),
            or_(Comment.status == CommentStatus.PUBLISHED,
                and_(Comment.status.in_(_PLACEHOLDER_STATUSES), has_published_reply)))


def build_page(thread: Thread, page: PageRequest, link: str | None = None) -> dict[str, Any]:
    roots = db.session.execute(
        select(*_COLUMNS).join(User, User.id == Comment.author_id)
        .where(*_visible_roots(thread), _after_cursor(page.sort, page.cursor))
        .order_by(*_order(page.sort)).limit(page.limit + 1)).all()
    more = len(roots) > page.limit
    roots = roots[:page.limit]
    nodes = [public_comment(r, link) for r in roots]
    _attach_replies(thread, nodes, link)
    last = roots[-1] if roots else None
    next_cursor = encode_cursor(page.sort, last.is_featured, last.likes, last.id) if more and last else None
    return {"comments": nodes, "next_cursor": next_cursor}


def _attach_replies(thread: Thread, roots: list[dict[str, Any]], link: str | None) -> None:
    if not roots:
        return
    rows = db.session.execute(
        select(*_COLUMNS).join(User, User.id == Comment.author_id)
        .where(Comment.thread_id == thread.id, Comment.root_id.in_([n["id"] for n in roots]),
               Comment.depth > 0,
               Comment.status.in_((CommentStatus.PUBLISHED, *_PLACEHOLDER_STATUSES)))
        .order_by(Comment.id)).all()
    by_id = {n["id"]: n for n in roots}
    nodes = [(row.parent_id, public_comment(row, link)) for row in rows]
    by_id.update((node["id"], node) for _, node in nodes)
    # Two passes: an imported reply can have a smaller id than its parent (files list them in any order).
    for parent_id, node in nodes:
        parent = by_id.get(parent_id)
        if parent is not None:
            parent["replies"].append(node)
    for root in roots:
        _prune_placeholders(root)


def _prune_placeholders(node: dict[str, Any]) -> bool:
    """Drop removed/deleted replies with nothing visible under them. True if node stays."""
    node["replies"] = [child for child in node["replies"] if _prune_placeholders(child)]
    return node["status"] != "deleted" or bool(node["replies"])


# -- per-process cache ---------------------------------------------------------------------------

class PageCache:
    def __init__(self, size: int = 1024):
        self._size = size
        self._items: OrderedDict[tuple, tuple[dict, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[dict, bytes] | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple, value: tuple[dict, bytes]) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def _page_cache() -> PageCache:
    # One cache per app (not per module): two apps in one process (tests) never share pages.
    from flask import current_app

    return current_app.extensions.setdefault("discuss.page_cache", PageCache())


def thread_and_site(site_slug: str, article_id: str) -> tuple[Site | None, Thread | None]:
    row = db.session.execute(select(Site, Thread).outerjoin(
        Thread, and_(Thread.site_id == Site.id, Thread.article_id == article_id))
        .where(Site.slug == site_slug)).first()
    return (row[0], row[1]) if row else (None, None)


def _format_fingerprint() -> str:
    """The code that shapes a page's bytes: part of every page ETag, so a deploy that changes the
    JSON never answers 304 for a body shaped by the old code."""
    from discuss.comments import serializers
    from discuss.models import settings

    digest = hashlib.sha256()
    for path in (__file__, serializers.__file__, settings.__file__):
        with open(path, "rb") as fh:
            digest.update(fh.read())
    return digest.hexdigest()[:12]


_FORMAT = _format_fingerprint()


def page_etag(site: Site, thread: Thread | None, article_id: str, page: PageRequest) -> str:
    """A strong ETag for the public page, from everything its bytes depend on (the thread row,
    whose revision every visible change bumps; the page asked for; the site's settings; the
    permalink base; the code's format), without building the page: a 304 costs the one query
    that found the thread."""
    parts: list = [_FORMAT, site.id, site.settings or {}, article_id, page.sort, page.limit, page.cursor]
    if thread is not None:
        parts += [thread.id, thread.revision, thread.title, thread.url, thread.published_count,
                  thread_closed(thread, site.effective_settings()), thread_link(thread, site)]
    raw = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def read_thread(site: Site, thread: Thread | None, article_id: str, page: PageRequest) -> tuple[dict, bytes]:
    """The public page (no per-viewer data) as a dict and as ready-to-send JSON bytes."""
    if thread is None:
        body = {"thread": {"article": article_id, "title": None, "url": None, "closed": False,
                           "published_count": 0, "last_id": 0},
                "settings": public_settings(site), "comments": [], "next_cursor": None}
        return body, json.dumps(body, separators=(",", ":")).encode()
    closed = thread_closed(thread, site.effective_settings())
    key = (thread.id, thread.revision, closed, page, json.dumps(site.settings or {}, sort_keys=True))
    cache = _page_cache()
    cached = cache.get(key)
    if cached is not None:
        return cached
    body = {"thread": {"article": thread.article_id, "title": thread.title, "url": thread.url,
                       "closed": closed, "published_count": thread.published_count,
                       "last_id": last_published_id(thread.id)},
            "settings": public_settings(site), **build_page(thread, page, thread_link(thread, site))}
    value = (body, json.dumps(body, separators=(",", ":")).encode())
    cache.put(key, value)
    return value


def own_pending(thread: Thread, viewer: User) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(*_COLUMNS).join(User, User.id == Comment.author_id)
        .where(Comment.thread_id == thread.id, Comment.author_id == viewer.id,
               Comment.status == CommentStatus.PENDING).order_by(Comment.id)).all()
    return [public_comment(r, thread_link(thread, thread.site)) for r in rows]


def merge_own_pending(body: dict[str, Any], pending: list[dict[str, Any]], first_page: bool) -> dict[str, Any]:
    """Show a reader their own held comments in place (replies under their parent, top-level first)."""
    merged = json.loads(json.dumps(body))
    index: dict[int, dict] = {}
    stack = list(merged["comments"])
    while stack:
        node = stack.pop()
        index[node["id"]] = node
        stack.extend(node["replies"])
    for node in pending:
        index[node["id"]] = node
    for node in pending:
        parent = index.get(node["parent_id"]) if node["parent_id"] else None
        if parent is not None:
            parent["replies"].append(node)
        elif node["parent_id"] is None and first_page:
            merged["comments"].insert(0, node)
    return merged


def add_own_markdown(body: dict[str, Any], thread: Thread, viewer: User) -> None:
    """Attach the Markdown source to the viewer's own comments (never to anyone else's)."""
    own = dict(db.session.execute(
        select(Comment.id, Comment.body_markdown).where(
            Comment.thread_id == thread.id, Comment.author_id == viewer.id,
            Comment.status.in_((CommentStatus.PUBLISHED, CommentStatus.PENDING)))).all())
    stack = list(body["comments"])
    while stack:
        node = stack.pop()
        if node["id"] in own:
            node["body_markdown"] = own[node["id"]]
        stack.extend(node["replies"])


def comment_context(comment_id: int, sort: str = "oldest") -> tuple[Site, dict[str, Any]]:
    """One published comment with its ancestors (top-level first) and its place in the thread:
    the top-level comment it sits under and how many top-level comments come before that one in
    this sort, so a client knows how far to page to reach it."""
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.status is not CommentStatus.PUBLISHED:
        raise NotFound("comment")
    thread, site = comment.thread, comment.thread.site
    ancestors: list[Comment] = []
    node = comment
    while node.parent_id is not None and len(ancestors) < 64:
        node = db.session.get(Comment, node.parent_id)
        ancestors.insert(0, node)
    root = ancestors[0] if ancestors else comment
    count = select(func.count(Comment.id)).where(*_visible_roots(thread))
    total = db.session.scalar(count) or 0
    after = db.session.scalar(count.where(_after_cursor(sort, encode_cursor(sort, root.is_featured, root.likes,
                                                                             root.id)))) or 0
    return site, {
        "comment": public_comment_of(comment),
        "ancestors": [public_comment_of(a) for a in ancestors],
        "thread": {"article": thread.article_id, "title": thread.title, "url": thread.url,
                   "published_count": thread.published_count},
        "place": {"root_id": root.id, "depth": comment.depth, "sort": sort,
                  "index": max(total - after - 1, 0), "top_level_count": total},
    }
