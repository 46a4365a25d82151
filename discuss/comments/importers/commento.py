"""Commento JSON export (``{"version": 1, "comments": [...], "commenters": [...]}``), the
format Comentario also reads and writes for Commento data.

Streamed with ijson in two passes over the file: commenters first (names and emails by
``commenterHex``), then comments. A comment has ``commentHex``, ``domain`` and ``url`` (the
page path), ``parentHex`` (``root`` at the top level), ``markdown``, ``score``, ``state``
(``approved``, ``unapproved``, ``flagged``) and ``deleted``.
"""
from __future__ import annotations

from typing import IO, Iterator

import ijson

from discuss.comments.importers.base import (APPROVED, DELETED, PENDING, SPAM, ImportFileError, Skip,
                                             SourceAuthor, SourceComment, SourceThread, parse_time)

STATES = {"approved": APPROVED, "unapproved": PENDING, "flagged": SPAM}


def read(stream: IO[bytes]) -> Iterator[SourceThread | SourceComment | Skip]:
    version = None
    commenters: dict[str, tuple[str, str | None]] = {}
    try:
        for prefix, event, value in ijson.parse(stream):
            if prefix == "version" and event == "number":
                version = value
            elif prefix == "commenters.item" and event == "start_map":
                person: dict = {}
            elif prefix.startswith("commenters.item.") and event in ("string", "null"):
                person[prefix.rsplit(".", 1)[1]] = value
            elif prefix == "commenters.item" and event == "end_map" and person.get("commenterHex"):
                commenters[person["commenterHex"]] = (person.get("name") or "", person.get("email"))
        if version != 1:
            raise ImportFileError(f"not a Commento export: version {version!r}, expected 1")
        stream.seek(0)
        threads: set[str] = set()
        for raw in ijson.items(stream, "comments.item"):
            yield from _comment(raw, commenters, threads)
    except ijson.JSONError as err:
        raise ImportFileError(f"malformed or truncated Commento JSON: {err}") from None


def _comment(raw: dict, commenters: dict, threads: set[str]) -> Iterator[SourceThread | SourceComment | Skip]:
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
    name, email = commenters.get(commenter, ("", None))
    parent = str(raw.get("parentHex") or "root")
    state = DELETED if raw.get("deleted") else STATES.get(str(raw.get("state")), str(raw.get("state")))
    score = raw.get("score") or 0
    yield SourceComment(source_id=source_id, thread_source_id=key,
                        parent_source_id=None if parent == "root" else parent,
                        author=SourceAuthor(key=None if commenter == "anonymous" else commenter, name=name,
                                            email=email),
                        created_at=created, state=state, markdown=str(raw.get("markdown") or ""),
                        likes=int(score) if int(score) > 0 else 0)
