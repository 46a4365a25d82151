"""The one writer every importer feeds: threads, guest authors and comments, in batches,
idempotent on the source's own ids (``import_ref``), in one transaction.

Rows are written with Core ``INSERT ... RETURNING`` in batches, so the session holds no
objects and memory stays flat whatever the file size. Replies are stored first and attached
to their parents at the end (a parent may come later in the file), in SQL; then depth and
root are filled in level by level, and every touched thread is recounted.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import Iterable

from flask import current_app
from sqlalchemy import and_, bindparam, exists, func, insert, select, update
from sqlalchemy.orm import aliased

from discuss.comments.importers.base import (ImportSummary, Notice, SourceComment, SourceThread, Skip,
                                             clean_body, map_status)
from discuss.comments.importers.bulk import next_ids, write_rows
from discuss.extensions import db
from discuss.models import AuthorKind, Comment, CommentStatus, ImportRef, Site, Thread, User
from discuss.models.queries import touch_thread
from discuss.models.totals import forget_days
from discuss.moderation.audit import record_event
from discuss.sanitize import normalize_name

BATCH = 1000
AUTHOR_CACHE = 50_000
ANONYMOUS = "Anonymous"
MAX_SOURCE_ID = 255


class ImportWriter:
    def __init__(self, site: Site, source: str, article_from: str = "url"):
        self.site = site
        self.source = source
        self.article_from = article_from
        self.summary = ImportSummary(source=source)
        self._threads: dict[str, SourceThread] = {}        # declared, not yet needed
        self._thread_ids: dict[str, int | None] = {}        # source thread id -> thread id (None: skipped)
        self._touched: set[int] = set()
        self._authors: OrderedDict[str, int] = OrderedDict()
        self._batch: list[SourceComment] = []
        self._first_ref_id = db.session.scalar(select(func.max(ImportRef.id))) or 0
        self._name_limit = int(current_app.config["MAX_NAME_CHARS"])
        self._write_locked = False

    # -- feeding -----------------------------------------------------------------------------

    def feed(self, records: Iterable[SourceThread | SourceComment | Skip | Notice]) -> None:
        for record in records:
            if isinstance(record, SourceComment):
                self._batch.append(record)
                if len(self._batch) >= BATCH:
                    self._flush()
            elif isinstance(record, SourceThread):
                self._threads[record.source_id] = record
            elif isinstance(record, Notice):
                self.summary.notices.append(record.text)
            else:
                self.summary.skipped[record.reason] += 1
        self._flush()

    def _skip(self, reason: str) -> None:
        self.summary.skipped[reason] += 1

    # -- threads -----------------------------------------------------------------------------

    def _thread_id(self, source_id: str) -> int | None:
        if source_id in self._thread_ids:
            return self._thread_ids[source_id]
        declared = self._threads.pop(source_id, None)
        thread_id = self._make_thread(declared) if declared is not None else None
        self._thread_ids[source_id] = thread_id
        return thread_id

    def _article_id(self, thread: SourceThread) -> str | None:
        first, second = (thread.identifier, thread.url) if self.article_from == "identifier" else (
            thread.url, thread.identifier)
        article = (first or second or "").strip()
        return article[:512] or None

    def _absolute(self, url: str | None) -> str | None:
        """Isso and Commento name pages by path: put a path on the site's first origin."""
        url = (url or "").strip()
        if url.startswith("/") and not url.startswith("//") and self.site.allowed_origins:
            return self.site.allowed_origins[0].rstrip("/") + url
        return url or None

    def _make_thread(self, source: SourceThread) -> int | None:
        if source.deleted:
            return None
        source = replace(source, url=self._absolute(source.url))
        article = self._article_id(source)
        if article is None:
            return None
        existing = db.session.scalar(select(Thread.id).where(Thread.site_id == self.site.id,
                                                             Thread.article_id == article))
        if existing is not None:
            self.summary.threads_reused += 1
            return existing
        thread_id = db.session.scalar(insert(Thread).returning(Thread.id).values(
            site_id=self.site.id, article_id=article, url=(source.url or None) and source.url[:2048],
            title=(source.title or None) and normalize_name(source.title)[:512], is_closed=source.closed,
            is_premoderated=False, published_count=0, revision=0))
        self.summary.threads_created += 1
        return thread_id

    # -- authors -----------------------------------------------------------------------------

    def _author_key(self, comment: SourceComment) -> str:
        author = comment.author
        if author.key:
            return f"id:{author.key}"[:MAX_SOURCE_ID]
        if author.email:
            return f"email:{author.email.strip().lower()}"[:MAX_SOURCE_ID]
        return f"name:{normalize_name(author.name or '')}"[:MAX_SOURCE_ID]

    def _author_ids(self, batch: list[SourceComment]) -> dict[str, int]:
        wanted = {self._author_key(c): c for c in batch}
        found = {key: self._authors[key] for key in wanted if key in self._authors}
        missing = [key for key in wanted if key not in found]
        if missing:
            rows = db.session.execute(select(ImportRef.source_id, ImportRef.target_id).where(
                ImportRef.site_id == self.site.id, ImportRef.source == self.source, ImportRef.kind == "author",
                ImportRef.source_id.in_(missing)))
            found.update(dict(rows.all()))
        new = [key for key in missing if key not in found]
        if new:
            users = [self._guest(wanted[key]) for key in new]
            ids = self._insert(User.__table__, users)
            write_rows(ImportRef.__table__, [
                {"site_id": self.site.id, "source": self.source, "kind": "author", "source_id": key,
                 "target_id": user_id, "parent_source_id": None} for key, user_id in zip(new, ids)])
            found.update(zip(new, ids))
            self.summary.authors += len(new)
        for key in wanted:
            self._authors[key] = found[key]
            self._authors.move_to_end(key)
        while len(self._authors) > AUTHOR_CACHE:
            self._authors.popitem(last=False)
        return found

    def _guest(self, comment: SourceComment) -> dict:
        email = (comment.author.email or "").strip()
        return {"kind": AuthorKind.GUEST, "display_name": self._name(comment.author.name),
                "email": email if "@" in email and len(email) <= 254 else None}

    def _name(self, name: str | None) -> str:
        return normalize_name(name or "")[:self._name_limit] or ANONYMOUS

    # -- comments ----------------------------------------------------------------------------

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        if not batch:
            return
        usable: list[tuple[SourceComment, int]] = []
        in_batch: set[str] = set()   # earlier batches are found in import_ref: memory stays per batch
        for comment in batch:
            if len(comment.source_id) > MAX_SOURCE_ID:
                self._skip("source_id_too_long")
                continue
            if comment.source_id in in_batch:
                self._skip("duplicate_id_in_file")
                continue
            in_batch.add(comment.source_id)
            thread_id = self._thread_id(comment.thread_source_id)
            if thread_id is None:
                self._skip("thread_deleted_or_unknown")
                continue
            usable.append((comment, thread_id))
        if not usable:
            return
        done = dict(db.session.execute(select(ImportRef.source_id, ImportRef.id).where(
            ImportRef.site_id == self.site.id, ImportRef.source == self.source, ImportRef.kind == "comment",
            ImportRef.source_id.in_([c.source_id for c, _ in usable]))).all())
        rows, keep = [], []
        authors = self._author_ids([c for c, _ in usable if c.source_id not in done])
        for comment, thread_id in usable:
            if comment.source_id in done:
                # written by an earlier batch of this run: the file lists the id twice
                self._skip("duplicate_id_in_file" if done[comment.source_id] > self._first_ref_id
                           else "already_imported")
                continue
            row = self._row(comment, thread_id, authors[self._author_key(comment)])
            if row is None:
                self._skip("empty_body")
                continue
            rows.append(row)
            keep.append(comment)
        if not rows:
            return
        ids = self._insert(Comment.__table__, rows)
        write_rows(ImportRef.__table__, [
            {"site_id": self.site.id, "source": self.source, "kind": "comment", "source_id": c.source_id,
             "target_id": comment_id, "parent_source_id": (c.parent_source_id or None) and c.parent_source_id[:255]}
            for c, comment_id in zip(keep, ids)])
        for row in rows:
            self._touched.add(row["thread_id"])
            self.summary.by_status[row["status"].value] += 1
        self.summary.comments += len(rows)
        self.summary.comment_ids.extend(ids)

    def _row(self, comment: SourceComment, thread_id: int, author_id: int) -> dict | None:
        status, reasons = map_status(comment.state)
        markdown, html, text = comment.cleaned or clean_body(comment)
        if status is not CommentStatus.DELETED and not text:
            return None
        return {"thread_id": thread_id, "parent_id": None, "root_id": None, "depth": 0, "author_id": author_id,
                "author_name": self._name(comment.author.name), "body_markdown": markdown, "body_html": html,
                "body_text": text, "status": status, "reasons": reasons, "scores": None, "ip_hash": None,
                "likes": max(int(comment.likes or 0), 0), "likes_base": max(int(comment.likes or 0), 0),
                "report_count": 0, "is_featured": bool(comment.featured) and status is CommentStatus.PUBLISHED,
                "warned": False, "rephrased_after_warning": False, "moderator_decided": False,
                "created_at": comment.created_at, "edited_at": comment.edited_at,
                "status_changed_at": comment.created_at}

    def _insert(self, table, rows: list[dict]) -> list[int]:
        """Insert rows in one driver call (bulk.write_rows) and return their ids, in order.

        The ids are chosen before the insert. PostgreSQL draws them from the table's sequence. SQLite has one
        writer, and this transaction holds the write lock (taken below before the first id is counted), so
        nobody else can take an id between reading the maximum and inserting.
        """
        if db.session.get_bind().dialect.name != "sqlite":
            ids = next_ids(table, len(rows))
        else:
            if not self._write_locked:
                db.session.execute(update(Site.__table__).where(Site.__table__.c.id == self.site.id)
                                   .values(id=Site.__table__.c.id))
                self._write_locked = True
            start = (db.session.scalar(select(func.max(table.c.id))) or 0) + 1
            ids = list(range(start, start + len(rows)))
        write_rows(table, [{**row, "id": row_id} for row, row_id in zip(rows, ids)])
        return ids

    # -- finishing ---------------------------------------------------------------------------

    def finish(self, file_name: str) -> ImportSummary:
        """Attach replies, fill depth and root, recount threads, audit. The caller commits."""
        self._attach_parents()
        self._fill_roots()
        for thread_id in sorted(self._touched):
            touch_thread(thread_id)
        forget_days(self.site.id)  # comments written into the past: the stats days recount them
        record_event(site_id=self.site.id, action="import", actor_label=f"import:{self.source}",
                     details={"file": file_name, **self.summary.as_dict()})
        return self.summary

    def _attach_parents(self) -> None:
        child, parent = aliased(ImportRef), aliased(ImportRef)
        child_row, parent_row = aliased(Comment), aliased(Comment)
        table = Comment.__table__
        set_parent = (update(table).where(table.c.id == bindparam("cid")).values(parent_id=bindparam("pid")))
        last = self._first_ref_id
        while True:
            rows = db.session.execute(
                select(child.id, child.target_id, parent_row.id).select_from(child)
                .join(child_row, child_row.id == child.target_id)
                .outerjoin(parent, and_(parent.site_id == child.site_id, parent.source == child.source,
                                        parent.kind == "comment", parent.source_id == child.parent_source_id))
                .outerjoin(parent_row, and_(parent_row.id == parent.target_id,
                                            parent_row.thread_id == child_row.thread_id))
                .where(child.site_id == self.site.id, child.source == self.source, child.kind == "comment",
                       child.id > last, child.parent_source_id.is_not(None))
                .order_by(child.id).limit(5000)).all()
            if not rows:
                return
            last = rows[-1][0]
            updates = [{"cid": comment_id, "pid": parent_id} for _, comment_id, parent_id in rows
                       if parent_id is not None and parent_id != comment_id]
            self.summary.orphans += len(rows) - len(updates)
            if updates:
                db.session.execute(set_parent, updates)

    def _fill_roots(self) -> None:
        # Only this transaction's imported rows have no root yet (every other write sets it at once).
        pending = Comment.root_id.is_(None)
        db.session.execute(update(Comment).where(pending, Comment.parent_id.is_(None))
                           .values(root_id=Comment.id, depth=0).execution_options(synchronize_session=False))
        parent = aliased(Comment)
        ready = exists().where(parent.id == Comment.parent_id, parent.root_id.is_not(None))
        for _ in range(10_000):
            parent_root = select(parent.root_id).where(parent.id == Comment.parent_id).scalar_subquery()
            parent_depth = select(parent.depth + 1).where(parent.id == Comment.parent_id).scalar_subquery()
            moved = db.session.execute(update(Comment).where(pending, ready)
                                       .values(root_id=parent_root, depth=parent_depth)
                                       .execution_options(synchronize_session=False)).rowcount
            if not moved:
                break
        # Whatever is left is in a parent cycle (a broken file): those become top-level comments.
        cycles = db.session.execute(update(Comment).where(pending).values(root_id=Comment.id, depth=0, parent_id=None)
                                    .execution_options(synchronize_session=False)).rowcount
        self.summary.orphans += cycles or 0

