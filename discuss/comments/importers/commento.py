"""Commento and Comentario JSON exports, told apart by their ``version``.

- Version 1, Commento's export (which Comentario also reads): ``{"version": 1, "comments": [...],
  "commenters": [...]}``. A comment has ``commentHex``, ``domain`` and ``url`` (the page path; Comentario
  writes ``path``), ``parentHex`` (``root`` at the top level), ``markdown``, ``score``, ``state``
  (``approved``, ``unapproved``, ``flagged``) and ``deleted``; commenters are keyed by ``commenterHex``.
- Version 3, Comentario's own export (gzipped; Comentario's internal/svc/impex_comentario.go and the
  ``domainPage``, ``comment`` and ``commenter`` definitions of its swagger.yml): ``{"version": 3, "pages": [...],
  "comments": [...], "commenters": [...]}``. Pages have ``id``, ``path``, ``title``, ``isReadonly``; comments
  ``id``, ``parentId`` (null at the top), ``pageId``, ``markdown``, ``score``, ``isSticky``, ``isApproved``,
  ``isPending``, ``isDeleted``, ``createdTime``, ``editedTime``, ``userCreated`` and ``authorName`` (for a
  commenter who is not registered); commenters ``id``, ``email``, ``name``.

Streamed with ijson in two passes: the version, pages and commenters first (they may follow the comments: Go
writes ``comments`` before ``commenters``), then the comments. Memory grows with pages and people, not comments.
"""
from __future__ import annotations

from typing import IO, Iterator

import ijson

from discuss.comments.importers.base import (APPROVED, DELETED, PENDING, SPAM, ImportFileError, Skip,
                                             SourceAuthor, SourceComment, SourceThread, parse_time)

STATES = {"approved": APPROVED, "unapproved": PENDING, "flagged": SPAM}
VERSIONS = (1, 3)
# Comentario v3 keeps a moderator's rejection as "neither approved nor pending"; not a state this service names,
# so it is held with the reason imported_state:rejected (never published).
REJECTED_V3 = "rejected"


def read(stream: IO[bytes]) -> Iterator[SourceThread | SourceComment | Skip]:
    try:
        version, pages, people = _index(stream)
        if version not in VERSIONS:
            raise ImportFileError(f"not a Commento or Comentario export: version {version!r}, expected 1 or 3")
        stream.seek(0)
        threads: set[str] = set()
        for raw in ijson.items(stream, "comments.item"):
            if version == 1:
                yield from _comment_v1(raw, people, threads)
            else:
                yield from _comment_v3(raw, pages, people, threads)
    except ijson.JSONError as err:
        raise ImportFileError(f"malformed or truncated Commento/Comentario JSON: {err}") from None


def _index(stream: IO[bytes]) -> tuple[object, dict[str, dict], dict[str, tuple[str, str | None]]]:
    """The version, pages by id (v3) and commenters' (name, email) by commenterHex (v1) or id (v3)."""
    version = None
    pages: dict[str, dict] = {}
    people: dict[str, tuple[str, str | None]] = {}
    record: dict = {}
    for prefix, event, value in ijson.parse(stream):
        if prefix == "version" and event == "number":
            version = value
        elif prefix in ("commenters.item", "pages.item") and event == "start_map":
            record = {}
        elif prefix.startswith(("commenters.item.", "pages.item.")) and event in ("string", "null", "boolean"):
            record[prefix.rsplit(".", 1)[1]] = value
        elif prefix == "commenters.item" and event == "end_map":
            key = record.get("commenterHex") or record.get("id")
            if key:
                people[key] = (record.get("name") or "", record.get("email") or None)
        elif prefix == "pages.item" and event == "end_map" and record.get("id"):
            pages[record["id"]] = record
    return version, pages, people


def _likes(raw: dict) -> int:
    score = int(raw.get("score") or 0)
    return score if score > 0 else 0


def _comment_v1(raw: dict, people: dict, threads: set[str]) -> Iterator[SourceThread | SourceComment | Skip]:
    source_id = str(raw.get("commentHex") or "")
    path = str(raw.get("url") or raw.get("path") or "")
    domain = str(raw.get("domain") or "")
    if not source_id or not path:
        yield Skip("comment_without_id_or_page", source_id or None)
        return
    key = f"{domain}{path}"
    if key not in threads:
        threads.add(key)
        url = f"https://{domain}{path}" if domain else path
        yield SourceThread(source_id=key, url=url, identifier=path)
    try:
        created = parse_time(raw.get("creationDate"), "creationDate")
    except (ValueError, TypeError):
        yield Skip("bad_date", source_id)
        return
    commenter = str(raw.get("commenterHex") or "anonymous")
    name, email = people.get(commenter, ("", None))
    parent = str(raw.get("parentHex") or "root")
    state = DELETED if raw.get("deleted") else STATES.get(str(raw.get("state")), str(raw.get("state")))
    yield SourceComment(source_id=source_id, thread_source_id=key,
                        parent_source_id=None if parent == "root" else parent,
                        author=SourceAuthor(key=None if commenter == "anonymous" else commenter, name=name,
                                            email=email),
                        created_at=created, state=state, markdown=str(raw.get("markdown") or ""), likes=_likes(raw))


def _comment_v3(raw: dict, pages: dict, people: dict,
                threads: set[str]) -> Iterator[SourceThread | SourceComment | Skip]:
    source_id, page_id = str(raw.get("id") or ""), str(raw.get("pageId") or "")
    page = pages.get(page_id)
    if not source_id or page is None or not page.get("path"):
        yield Skip("comment_without_id_or_page", source_id or None)
        return
    if page_id not in threads:
        threads.add(page_id)
        yield SourceThread(source_id=page_id, url=page["path"], identifier=page["path"],
                           title=page.get("title") or None, closed=bool(page.get("isReadonly")))
    try:
        created = parse_time(raw.get("createdTime"), "createdTime")
        edited = parse_time(raw["editedTime"], "editedTime") if raw.get("editedTime") else None
    except (ValueError, TypeError):
        yield Skip("bad_date", source_id)
        return
    user = str(raw.get("userCreated") or "")
    if user in people:  # a registered commenter; anyone else (the anonymous user) is named by authorName
        name, email = people[user]
        author = SourceAuthor(key=user, name=name, email=email)
    else:
        author = SourceAuthor(key=None, name=str(raw.get("authorName") or ""))
    if raw.get("isDeleted"):
        state = DELETED
    elif raw.get("isApproved"):
        state = APPROVED
    elif raw.get("isPending"):
        state = PENDING
    else:
        state = REJECTED_V3
    yield SourceComment(source_id=source_id, thread_source_id=page_id, parent_source_id=raw.get("parentId") or None,
                        author=author, created_at=created, state=state, markdown=str(raw.get("markdown") or ""),
                        likes=_likes(raw), featured=bool(raw.get("isSticky")), edited_at=edited)
