"""Comment permalinks: the article's own URL plus a fragment the widget understands.

The widget, loaded on the article with ``#discuss-comment-<id>``, opens the part of the thread
that holds the comment (loading pages behind "load more" if it must), scrolls there and
highlights it. Every link to one comment (API, feeds, reply emails, webhooks, the dashboard)
is built here so they all agree.
"""
from __future__ import annotations

from urllib.parse import urlencode

FRAGMENT_PREFIX = "discuss-comment-"


def article_link(article_url: str | None, *, site: str | None = None, article: str | None = None,
                 base_url: str = "") -> str | None:
    """The page a thread's comments are read on: the article URL (without any fragment), or for
    a thread posted without one, the comment host's no-JavaScript reading page."""
    if article_url:
        return article_url.split("#", 1)[0]
    if site and article:
        return f"{base_url}/embed/read?{urlencode({'site': site, 'article': article})}"
    return None


def comment_link(link: str | None, comment_id: int) -> str | None:
    return f"{link}#{FRAGMENT_PREFIX}{int(comment_id)}" if link else None


def permalink(article_url: str | None, comment_id: int, *, site: str | None = None,
              article: str | None = None, base_url: str = "") -> str | None:
    """``<article url>#discuss-comment-<id>``."""
    return comment_link(article_link(article_url, site=site, article=article, base_url=base_url), comment_id)
