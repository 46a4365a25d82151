"""Atom feeds of published comments (feedgen): one article's, and the latest across a site.

Entries link to the comments' permalinks. Each feed has an ETag taken from thread revisions
(every change a reader can see bumps one), so a poller's conditional GET costs one small
query and a 304.
"""
from __future__ import annotations

from feedgen.feed import FeedGenerator
from sqlalchemy import func, select

from discuss.comments.serializers import thread_link
from discuss.errors import NotFound
from discuss.extensions import db
from discuss.models import Comment, CommentStatus, Site, Thread, utcnow
from discuss.models.links import comment_link
from discuss.models.queries import find_thread, require_site

FEED_ENTRIES = 50


def article_feed_etag(site_slug: str, article_id: str) -> tuple[Site, Thread, str]:
    site = require_site(site_slug)
    thread = find_thread(site.id, article_id)
    if thread is None:
        raise NotFound("thread")
    return site, thread, f"t{thread.id}.{thread.revision}"


def site_feed_etag(site_slug: str) -> tuple[Site, str]:
    site = require_site(site_slug)
    revisions, threads = db.session.execute(select(func.coalesce(func.sum(Thread.revision), 0), func.count(Thread.id))
                                            .where(Thread.site_id == site.id)).one()
    return site, f"s{site.id}.{threads}.{revisions}"


def article_feed(site: Site, thread: Thread, self_url: str) -> bytes:
    rows = db.session.execute(select(Comment).where(Comment.thread_id == thread.id,
                                                    Comment.status == CommentStatus.PUBLISHED)
                              .order_by(Comment.id.desc()).limit(FEED_ENTRIES)).scalars().all()
    title = thread.title or thread.article_id
    feed = _feed(self_url, f"Comments on {title}", thread_link(thread, site), site)
    for comment in reversed(rows):
        _entry(feed, comment, thread, site)
    return feed.atom_str(pretty=False)


def site_feed(site: Site, self_url: str) -> bytes:
    rows = db.session.execute(select(Comment, Thread).join(Thread, Thread.id == Comment.thread_id)
                              .where(Thread.site_id == site.id, Comment.status == CommentStatus.PUBLISHED)
                              .order_by(Comment.id.desc()).limit(FEED_ENTRIES)).all()
    feed = _feed(self_url, f"Latest comments on {site.name}", None, site)
    for comment, thread in reversed(rows):
        _entry(feed, comment, thread, site, with_article=True)
    return feed.atom_str(pretty=False)


def _feed(self_url: str, title: str, alternate: str | None, site: Site) -> FeedGenerator:
    feed = FeedGenerator()
    feed.id(self_url)
    feed.title(title)
    feed.author({"name": site.name})
    feed.link(href=self_url, rel="self", type="application/atom+xml")
    if alternate:
        feed.link(href=alternate, rel="alternate", type="text/html")
    feed.updated(utcnow())
    feed.generator("discuss")
    return feed


def _entry(feed: FeedGenerator, comment: Comment, thread: Thread, site: Site, with_article: bool = False) -> None:
    link = comment_link(thread_link(thread, site), comment.id)
    entry = feed.add_entry()  # feedgen prepends; entries are added oldest first so the newest leads
    entry.id(link)
    where = f" on {thread.title or thread.article_id}" if with_article else ""
    entry.title(f"{comment.author_name}{where}")
    entry.link(href=link, rel="alternate", type="text/html")
    entry.author({"name": comment.author_name})
    entry.content(comment.body_html, type="html")
    entry.published(comment.created_at)
    entry.updated(comment.edited_at or comment.created_at)
