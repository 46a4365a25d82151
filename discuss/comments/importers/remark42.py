"""Remark42 backup (``backup-SITE-YYYYMMDD.gz``, gzipped or not): one JSON value per line.

The first line is the site's metadata (``{"version": 1, "users": [...], "posts": [...]}``); every
other line is one comment: ``id``, ``pid`` (parent), ``text`` (HTML), ``user`` (``id``, ``name``),
``locator.url`` (the page), ``title``, ``time``, ``score`` (likes minus dislikes), ``pin``,
``delete`` and ``edit.time``. Remark42 has no pending or spam states.
"""
from __future__ import annotations

import json
from typing import IO, Iterator

from discuss.comments.importers.base import (APPROVED, DELETED, ImportFileError, Skip, SourceAuthor,
                                             SourceComment, SourceThread, parse_time)


def read(stream: IO[bytes]) -> Iterator[SourceThread | SourceComment | Skip]:
    threads: set[str] = set()
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, UnicodeDecodeError) as err:
            raise ImportFileError(f"malformed or truncated Remark42 backup at line {number}: {err}") from None
        if not isinstance(record, dict):
            raise ImportFileError(f"Remark42 backup line {number} is not a JSON object")
        if number == 1:
            if "version" not in record or record.get("version") not in (0, 1):
                raise ImportFileError("not a Remark42 backup: line 1 has no metadata with version 0 or 1")
            continue
        yield from _comment(record, threads)


def _comment(record: dict, threads: set[str]) -> Iterator[SourceThread | SourceComment | Skip]:
    source_id = str(record.get("id") or "")
    url = str((record.get("locator") or {}).get("url") or "")
    if not source_id or not url:
        yield Skip("comment_without_id_or_url", source_id or None)
        return
    if url not in threads:
        threads.add(url)
        yield SourceThread(source_id=url, url=url, identifier=url, title=record.get("title") or None)
    try:
        created = parse_time(record.get("time"), "time")
        edit_time = (record.get("edit") or {}).get("time")
        edited = parse_time(edit_time) if edit_time and not str(edit_time).startswith("0001-") else None
    except (ValueError, TypeError):
        yield Skip("bad_date", source_id)
        return
    user = record.get("user") or {}
    score = record.get("score") or 0
    yield SourceComment(source_id=source_id, thread_source_id=url, parent_source_id=record.get("pid") or None,
                        author=SourceAuthor(key=str(user.get("id") or "") or None, name=str(user.get("name") or "")),
                        created_at=created, edited_at=edited, state=DELETED if record.get("delete") else APPROVED,
                        html=str(record.get("text") or ""), likes=score if isinstance(score, int) else 0,
                        featured=bool(record.get("pin")))
