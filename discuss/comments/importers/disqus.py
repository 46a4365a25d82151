"""Disqus XML export (`<disqus xmlns="http://disqus.com">`: categories, threads, posts).

A thread's ``dsq:id`` keys its posts; its ``<id>`` is the identifier the site gave Disqus
(``disqus_identifier``) and ``<link>`` its URL. Posts carry HTML in ``<message>``, a parent as
``<parent dsq:id>``, and ``isDeleted``/``isSpam`` (and, in some exports, ``isApproved``).
Disqus exports have no likes.
"""
from __future__ import annotations

from typing import IO, Iterator

from discuss.comments.importers.base import (APPROVED, DELETED, PENDING, SPAM, Skip, SourceAuthor,
                                             SourceComment, SourceThread, parse_time)
from discuss.comments.importers.xmlstream import flag, stream_elements, text

NS = "{http://disqus.com}"
DSQ_ID = "{http://disqus.com/disqus-internals}id"


def read(stream: IO[bytes]) -> Iterator[SourceThread | SourceComment | Skip]:
    wanted = {NS + "thread": 1, NS + "post": 1}
    for tag, elem in stream_elements(stream, NS + "disqus", wanted, "Disqus"):
        if tag == NS + "thread":
            source_id = elem.get(DSQ_ID)
            if not source_id:
                yield Skip("thread_without_id")
                continue
            yield SourceThread(source_id=source_id, url=text(elem, NS + "link"), identifier=text(elem, NS + "id"),
                               title=text(elem, NS + "title"), closed=flag(elem, NS + "isClosed"),
                               deleted=flag(elem, NS + "isDeleted"))
        else:
            yield _post(elem)


def _post(elem) -> SourceComment | Skip:
    source_id = elem.get(DSQ_ID)
    if not source_id:
        return Skip("post_without_id")
    thread = elem.find(NS + "thread")
    thread_id = thread.get(DSQ_ID) if thread is not None else None
    if not thread_id:
        return Skip("post_without_thread", source_id)
    try:
        created = parse_time(text(elem, NS + "createdAt"), "createdAt")
    except ValueError:
        return Skip("bad_date", source_id)
    parent = elem.find(NS + "parent")
    author = elem.find(NS + "author")
    name = email = username = None
    if author is not None:
        name, email = text(author, NS + "name"), text(author, NS + "email")
        username = None if flag(author, NS + "isAnonymous") else text(author, NS + "username")
    return SourceComment(source_id=source_id, thread_source_id=thread_id,
                         parent_source_id=parent.get(DSQ_ID) if parent is not None else None,
                         author=SourceAuthor(key=username, name=name or username or "", email=email),
                         created_at=created, state=_state(elem), html=text(elem, NS + "message") or "")


def _state(elem) -> str:
    if flag(elem, NS + "isDeleted"):
        return DELETED
    if flag(elem, NS + "isSpam"):
        return SPAM
    if not flag(elem, NS + "isApproved", default=True):
        return PENDING
    return APPROVED
