"""Published comments of one thread as a tree, for the server-rendered read-only page.

Built on the API's read service (discuss.comments.reading), so the no-JavaScript page and the
widget agree on what is visible: published comments, with deleted or removed ones kept only as
placeholders when they have visible replies.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from flask import current_app

from discuss.models import Site, Thread
from discuss.comments import reading


@dataclass
class ReadComment:
    id: int
    author_name: str | None
    html: str | None  # None for a deleted placeholder
    created_at: datetime
    edited: bool
    replies: list["ReadComment"] = field(default_factory=list)


def _parse(moment: str) -> datetime:
    return datetime.strptime(moment, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def _convert(node: dict[str, Any]) -> ReadComment:
    published = node["status"] == "published"
    return ReadComment(node["id"], node["author"]["name"] if published and node["author"] else None,
                       node["html"] if published else None, _parse(node["created_at"]),
                       bool(node.get("edited_at")), [_convert(r) for r in node.get("replies", [])])


def published_thread(site: Site, article_id: str, cursor: str | None = None
                     ) -> tuple[Thread | None, list[ReadComment], str | None]:
    """(thread, top-level comments with replies, cursor of the next page or None)."""
    _, thread = reading.thread_and_site(site.slug, article_id)
    if thread is None:
        return None, [], None
    page = reading.PageRequest(sort="oldest", limit=current_app.config.get("MAX_PAGE_LIMIT", 200), cursor=cursor)
    body, _ = reading.read_thread(site, thread, article_id, page)
    return thread, [_convert(n) for n in body["comments"]], body.get("next_cursor")
