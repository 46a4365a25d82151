"""Remark42 backup (``backup-SITE-YYYYMMDD.gz``, gzipped or not): one JSON value per line.

The first line is the site's metadata (``{"version": 1, "users": [...], "posts": [...]}``); every
other line is one comment: ``id``, ``pid`` (parent), ``text`` (HTML), ``user`` (``id``, ``name``),
``locator.url`` (the page), ``title``, ``time``, ``score`` (likes minus dislikes), ``pin``,
``delete`` and ``edit.time``. Remark42 has no pending or spam states.

A backup cut exactly at a line boundary cannot be told from a complete one: Remark42 (backend/app/migrator/
native.go) writes the metadata line, then each comment with ``json.Encoder.Encode``, and nothing else: no comment
count (its metadata is ``version``, ``users`` with id/blocked/verified and ``posts`` with only ``url`` and
``read_only``), no checksum, no closing record. Its own importer reads such a file as complete too. What is
caught: a cut inside a line (a JSON error naming the line) and any cut of a gzipped backup (gzip's length and
CRC trailer; backups in BACKUP_PATH are gzipped). What is reported: pages listed in the metadata that no comment
in the file belongs to (comments are written page by page, so a cut drops the last pages whole), as a notice to
check, not a refusal (a page whose comments were all removed may stay listed).
"""
from __future__ import annotations

import json
from typing import IO, Iterator

from discuss.comments.importers.base import (APPROVED, DELETED, ImportFileError, Notice, Skip, SourceAuthor,
                                             SourceComment, SourceThread, parse_time)


def read(stream: IO[bytes]) -> Iterator[SourceThread | SourceComment | Skip | Notice]:
    threads: set[str] = set()
    listed: set[str] = set()
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
            listed = {str(post.get("url")) for post in record.get("posts") or [] if isinstance(post, dict)
                      and post.get("url")}
            continue
        yield from _comment(record, threads)
    silent = sorted(listed - threads)
    if silent:
        yield Notice(f"{len(silent)} page(s) listed in the backup's metadata have no comment in it (first: "
                     f"{silent[0]}). Remark42 writes no comment count or end marker, so a backup cut at a line "
                     "boundary reads as complete: if these pages had comments, the file is truncated; import the "
                     "whole backup again (it adds only what is missing).")


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
