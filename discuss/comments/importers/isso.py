"""Isso's SQLite database (``comments.db``): ``threads`` (id, uri, title) and ``comments``
(tid, id, parent, created, modified, mode, text (Markdown), author, email, likes, ...).

Opened read-only. ``mode`` is 1 (accepted), 2 (pending) or 4 (deleted). Isso keys threads on
the page path (``uri``); the writer turns a path into a URL on the site's first origin.
"""
from __future__ import annotations

import sqlite3
from typing import Callable, Iterator

from discuss.comments.importers.base import (APPROVED, DELETED, PENDING, ImportFileError, Skip, SourceAuthor,
                                             SourceComment, SourceThread, parse_time)

MODES = {1: APPROVED, 2: PENDING, 4: DELETED}


def _connect(path: str) -> sqlite3.Connection:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as err:
        raise ImportFileError(f"not an Isso database (SQLite said: {err})") from None
    if not {"threads", "comments"} <= tables:
        connection.close()
        raise ImportFileError("not an Isso database: it has no 'threads' and 'comments' tables")
    return connection


def count_rows(path: str) -> int:
    connection = _connect(path)
    try:
        return connection.execute("SELECT COUNT(*) FROM comments").fetchone()[0]
    finally:
        connection.close()


def read(path: str, on_progress: Callable[[int], None] | None = None) -> Iterator[SourceThread | SourceComment | Skip]:
    connection = _connect(path)
    try:
        for tid, uri, title in connection.execute("SELECT id, uri, title FROM threads ORDER BY id"):
            yield SourceThread(source_id=str(tid), url=uri, identifier=uri, title=title)
        rows = connection.execute("SELECT id, tid, parent, created, modified, mode, text, author, email, likes "
                                  "FROM comments ORDER BY id")
        for cid, tid, parent, created, modified, mode, text, author, email, likes in rows:
            if on_progress is not None:
                on_progress(1)
            try:
                created_at = parse_time(created, "created")
                edited_at = parse_time(modified) if modified else None
            except (ValueError, TypeError, OverflowError):
                yield Skip("bad_date", str(cid))
                continue
            yield SourceComment(source_id=str(cid), thread_source_id=str(tid),
                                parent_source_id=str(parent) if parent else None,
                                author=SourceAuthor(key=None, name=author or "", email=email),
                                created_at=created_at, edited_at=edited_at,
                                state=MODES.get(mode, f"mode_{mode}"), markdown=text or "", likes=likes or 0)
    except sqlite3.DatabaseError as err:
        raise ImportFileError(f"the Isso database could not be read: {err}") from None
    finally:
        connection.close()
