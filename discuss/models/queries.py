"""The lookups every domain shares: a site by slug, a thread by article, and the thread
bookkeeping readers depend on (published count, cache revision).

They sit beside the tables (not in a domain) because comments, moderation and identity all
need them, and domains only import downwards.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update

from discuss.errors import ApiError
from discuss.extensions import db
from discuss.models import Comment, CommentStatus, Site, Thread, utcnow


COUNT_CAP = 10_000


def count_capped(query, shown: int = 0) -> tuple[int, bool]:
    """How many rows ``query`` (a select) returns, counting no further than needed: up to
    ``max(COUNT_CAP, shown)`` rows, ``shown`` being the rows up to the end of the page asked for
    (so a pager always knows whether a next page exists). Returns (count, capped); when capped,
    there are more rows than ``count``. A full count of a filter that matches most of a million
    rows read them all (bench/scale.py: the audit log's total, 265-536 ms at 1M, issue 19)."""
    cap = max(COUNT_CAP, shown)
    found = db.session.scalar(select(func.count()).select_from(query.limit(cap + 1).subquery())) or 0
    return (cap, True) if found > cap else (int(found), False)


# The lookups every post makes, built once with bound parameters: SQLAlchemy then finds the
# compiled statement in its cache without rebuilding the statement and its cache key on each
# call (about 60% of a simple statement's CPU in a micro-benchmark; issue 19).
_SITE_BY_SLUG = select(Site).where(Site.slug == bindparam("slug"))
_THREAD_BY_ARTICLE = select(Thread).where(Thread.site_id == bindparam("site_id"),
                                          Thread.article_id == bindparam("article_id"))
_THREADS = Thread.__table__
_COUNT_NEW = (update(_THREADS).where(_THREADS.c.id == bindparam("thread_id"))
              .values(published_count=_THREADS.c.published_count + bindparam("added"),
                      revision=_THREADS.c.revision + 1))


def site_by_slug(slug: str) -> Site | None:
    """The one site lookup by slug."""
    return db.session.scalar(_SITE_BY_SLUG, {"slug": slug})


def require_site(slug: str) -> Site:
    site = site_by_slug(slug)
    if site is None:
        raise ApiError("unknown_site", f"No site '{slug}' is registered here.", 404)
    return site


def find_thread(site_id: int, article_id: str) -> Thread | None:
    return db.session.scalar(_THREAD_BY_ARTICLE, {"site_id": site_id, "article_id": article_id})


def touch_thread(thread_id: int, *, expire_everything: bool = True) -> None:
    """Recount published comments and bump the revision so every process drops cached reads.

    Recounting (instead of +1/-1) keeps the count right whatever path changed a status.
    Call inside the transaction that made the change.

    ``expire_everything=False`` refreshes only the thread's count and revision, for a caller that
    changed nothing else behind the session's back (posting): it keeps the comment, author and
    site it has in hand instead of reloading each of them.
    """
    db.session.flush()
    published = (select(func.count(Comment.id))
                 .where(Comment.thread_id == thread_id, Comment.status == CommentStatus.PUBLISHED)
                 .scalar_subquery())
    db.session.execute(update(Thread).where(Thread.id == thread_id)
                       .values(published_count=published, revision=Thread.revision + 1)
                       .execution_options(synchronize_session=False))
    if expire_everything:
        db.session.expire_all()
    else:
        _expire_thread_counters(thread_id)


def count_new_comment(thread_id: int, published: bool) -> None:
    """touch_thread for a comment just added: +1 instead of a recount.

    Recounting reads every comment of the thread, so on a hot thread each post cost more than
    the last; a new comment can only add one published comment, and the UPDATE adds it
    atomically however many posts race. Paths that change statuses keep recounting.
    Refreshes only the thread's count and revision in the session.
    """
    db.session.flush()
    db.session.execute(_COUNT_NEW, {"thread_id": thread_id, "added": 1 if published else 0})
    _expire_thread_counters(thread_id)


def _expire_thread_counters(thread_id: int) -> None:
    thread = db.session.identity_map.get(db.session.identity_key(Thread, thread_id))
    if thread is not None:
        db.session.expire(thread, ["published_count", "revision"])


def published_counts(site: Site, article_ids: list[str]) -> dict[str, int]:
    rows = db.session.execute(select(Thread.article_id, Thread.published_count)
                              .where(Thread.site_id == site.id, Thread.article_id.in_(article_ids)))
    counts = {article_id: 0 for article_id in article_ids}
    counts.update({article_id: count for article_id, count in rows})
    return counts


def thread_closed(thread: Thread, settings: dict[str, Any], now: datetime | None = None) -> bool:
    """Closed by a moderator, or by the site's ``auto_close_days`` after the thread's first comment.

    A thread row is created by its first comment, so its ``created_at`` is that comment's time.
    """
    if thread.is_closed:
        return True
    days = int(settings.get("auto_close_days") or 0)
    if not days or thread.created_at is None:
        return False
    return (now or utcnow()) >= thread.created_at + timedelta(days=days)
