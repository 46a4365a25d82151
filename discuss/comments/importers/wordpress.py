"""WordPress WXR export: ``<rss><channel><item>`` per post, its ``<wp:comment>`` entries.

The thread is the item: ``wp:post_id`` keys it, ``<link>`` is its URL, ``wp:post_name`` (the
slug) its identifier. ``wp:comment_approved`` is ``1``, ``0``, ``spam``, ``trash`` or
``post-trashed``; pingbacks and trackbacks are skipped. ``comment_date_gmt`` is UTC
(``comment_date`` is the blog's local time, used, as UTC, only when the GMT one is empty).
"""
from __future__ import annotations

from typing import IO, Iterator

from discuss.comments.importers.base import (APPROVED, DELETED, PENDING, SPAM, Skip, SourceAuthor,
                                             SourceComment, SourceThread, parse_time)
from discuss.comments.importers.xmlstream import stream_elements, text

STATES = {"1": APPROVED, "approve": APPROVED, "0": PENDING, "hold": PENDING, "spam": SPAM,
          "trash": DELETED, "post-trashed": DELETED}


def read(stream: IO[bytes]) -> Iterator[SourceThread | SourceComment | Skip]:
    wanted = {"item": 2, "title": 3, "link": 3, "wp:post_id": 3, "wp:post_name": 3, "wp:comment": 3}
    item: dict[str, str | None] = {}
    announced = False
    for tag, elem in stream_elements(stream, "rss", wanted, "WordPress WXR", _name):
        if tag == "item":
            item, announced = {}, False
        elif tag == "wp:comment":
            if not item.get("id"):
                yield Skip("comment_outside_a_post")
                continue
            if not announced:
                yield SourceThread(source_id=item["id"], url=item.get("link"), identifier=item.get("slug"),
                                   title=item.get("title"))
                announced = True
            yield _comment(elem, elem.tag[:elem.tag.index("}") + 1], item["id"])
        else:
            key = {"title": "title", "link": "link", "wp:post_id": "id", "wp:post_name": "slug"}[tag]
            item[key] = (elem.text or "").strip() or None


def _name(tag: str) -> str:
    """WXR 1.0, 1.1 and 1.2 each use their own wp namespace URI: match on the local name."""
    if tag.startswith("{http://wordpress.org/export/"):
        return "wp:" + tag.rsplit("}", 1)[1]
    return tag


def _comment(elem, wp: str, thread_id: str) -> SourceComment | Skip:
    source_id = text(elem, wp + "comment_id")
    if not source_id:
        return Skip("comment_without_id")
    kind = (text(elem, wp + "comment_type") or "comment").lower()
    if kind not in ("comment", ""):
        return Skip(f"{kind}_not_a_comment", source_id)
    try:
        created = parse_time(text(elem, wp + "comment_date_gmt") or "", "comment_date_gmt")
    except ValueError:
        try:
            created = parse_time(text(elem, wp + "comment_date"), "comment_date")
        except ValueError:
            return Skip("bad_date", source_id)
    approved = (text(elem, wp + "comment_approved") or "").lower()
    parent = text(elem, wp + "comment_parent")
    user_id = text(elem, wp + "comment_user_id")
    email = text(elem, wp + "comment_author_email")
    return SourceComment(
        source_id=source_id, thread_source_id=thread_id,
        parent_source_id=parent if parent and parent != "0" else None,
        author=SourceAuthor(key=f"user:{user_id}" if user_id and user_id != "0" else None,
                            name=text(elem, wp + "comment_author") or "", email=email),
        created_at=created, state=STATES.get(approved, approved or "unknown"),
        html=text(elem, wp + "comment_content") or "")
