"""What every importer shares: the records a format reader yields, status mapping, errors,
the summary, and a byte-counting reader for progress.

A format reader is a generator of ``SourceThread`` and ``SourceComment`` records (and
``Skip`` for records it cannot use). It raises ``ImportFileError`` for a file it cannot
read, naming the element or line; the writer then rolls everything back.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Callable

from discuss.models import CommentStatus
from discuss.sanitize import (clean_foreign_html, clean_html_to_paragraphs, clean_html_to_text, html_to_text,
                              normalize_text, render_markdown)

# Source states, after each reader has put its own vocabulary into these words.
APPROVED, PENDING, SPAM, DELETED = "approved", "pending", "spam", "deleted"

IMPORTED_SPAM = "imported_spam"
IMPORTED_PENDING = "imported_pending"
IMPORTED_DELETED = "imported_deleted"


class ImportFileError(Exception):
    """The file cannot be imported (malformed, truncated, wrong format). Nothing was written."""


@dataclass
class SourceThread:
    source_id: str
    url: str | None = None
    identifier: str | None = None
    title: str | None = None
    closed: bool = False
    deleted: bool = False


@dataclass
class SourceAuthor:
    key: str | None          # the source's stable id for this person (None: by email, then name)
    name: str
    email: str | None = None


@dataclass
class SourceComment:
    source_id: str
    thread_source_id: str
    author: SourceAuthor
    created_at: datetime
    state: str                          # approved | pending | spam | deleted | the source's own word
    html: str | None = None             # bodies written as HTML (Disqus, WordPress, Remark42)
    markdown: str | None = None         # bodies written as Markdown (Isso, Commento)
    parent_source_id: str | None = None
    likes: int = 0
    featured: bool = False
    edited_at: datetime | None = None
    cleaned: tuple[str, str, str] | None = None  # (markdown, html, text) once clean_body ran (pipeline.py)


@dataclass
class Skip:
    reason: str
    source_id: str | None = None


@dataclass
class Notice:
    """Something the operator should check that does not stop the import (shown with the summary, audited)."""
    text: str


def map_status(state: str) -> tuple[CommentStatus, list[str]]:
    """The issue's mapping: approved, pending, spam, deleted; anything else is held, named."""
    if state == APPROVED:
        return CommentStatus.PUBLISHED, []
    if state == PENDING:
        return CommentStatus.PENDING, [IMPORTED_PENDING]
    if state == SPAM:
        return CommentStatus.REJECTED, [IMPORTED_SPAM]
    if state == DELETED:
        return CommentStatus.DELETED, [IMPORTED_DELETED]
    return CommentStatus.PENDING, [f"imported_state:{state}"[:64]]


@dataclass
class ImportSummary:
    source: str
    dry_run: bool = False
    threads_created: int = 0
    threads_reused: int = 0
    comments: int = 0
    authors: int = 0
    by_status: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    orphans: int = 0
    comment_ids: list[int] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"source": self.source, "dry_run": self.dry_run, "threads_created": self.threads_created,
                "threads_reused": self.threads_reused, "comments": self.comments, "authors": self.authors,
                "by_status": dict(self.by_status), "skipped": dict(self.skipped),
                "replies_without_parent": self.orphans, "notices": list(self.notices)}


def parse_time(value: str | float | int | None, what: str = "date") -> datetime:
    """An aware UTC datetime from an ISO 8601 string or a Unix time; naive values are UTC."""
    if value is None or value == "":
        raise ValueError(f"missing {what}")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    moment = datetime.fromisoformat(value.strip().replace(" ", "T", 1) if "T" not in value else value.strip())
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


class CountingReader:
    """A binary file wrapper that reports bytes read, so parsers can drive a progress bar."""

    def __init__(self, raw: IO[bytes], on_bytes: Callable[[int], None] | None = None):
        self._raw = raw
        self._on_bytes = on_bytes

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if self._on_bytes is not None and data:
            self._on_bytes(len(data))
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self._raw.readline(size)
        if self._on_bytes is not None and data:
            self._on_bytes(len(data))
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._raw.seek(offset, whence)

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line


def clean_body(comment: SourceComment) -> tuple[str, str, str]:
    """(markdown, html, text) as stored: HTML through the foreign-HTML allowlist, Markdown rendered as posted;
    a deleted comment's text is not kept."""
    if comment.state == DELETED:
        return "", "", ""
    if comment.html is not None:
        html = clean_foreign_html(comment.html)
        return clean_html_to_paragraphs(html), html, clean_html_to_text(html)
    markdown = normalize_text(comment.markdown or "")
    html = render_markdown(markdown)
    return markdown, html, html_to_text(html)
