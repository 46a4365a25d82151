from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (JSON, Boolean, Enum, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, func, text)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.functions import FunctionElement

from discuss.extensions import db
from discuss.models.enums import CommentStatus, ReportReason
from discuss.models.site import Thread
from discuss.models.types import UTCDateTime, utcnow
from discuss.models.user import User


# The labels the moderation queue sorts by (scoring.base.CORE_LABELS: models may not import
# scoring, so a test keeps the two equal).
QUEUE_SORT_LABELS = ("toxicity", "severe_toxicity", "obscene", "identity_attack", "insult", "threat",
                     "sexual_explicit")


class max_label_score(FunctionElement):
    """A comment's highest score among QUEUE_SORT_LABELS (a missing one counts 0), in SQL.

    The labels are rendered as literals, not bound parameters, so the queue's ORDER BY is the very
    expression of the index ix_comment_status_toxicity: a planner only matches an expression index
    against an identical expression."""
    type = Float()
    inherit_cache = True
    name = "max_label_score"


@compiles(max_label_score, "postgresql")
def _max_label_score_postgresql(element, compiler, **kw):
    scores = compiler.process(element.clauses, **kw)
    return "GREATEST({})".format(", ".join(
        f"COALESCE(CAST(({scores} ->> '{label}') AS DOUBLE PRECISION), 0.0)" for label in QUEUE_SORT_LABELS))


@compiles(max_label_score)
def _max_label_score_sqlite(element, compiler, **kw):
    scores = compiler.process(element.clauses, **kw)
    return "MAX({})".format(", ".join(
        f"COALESCE(CAST(JSON_EXTRACT({scores}, '$.\"{label}\"') AS REAL), 0.0)" for label in QUEUE_SORT_LABELS))


class Comment(db.Model):
    __table_args__ = (
        Index("ix_comment_thread_root", "thread_id", "parent_id", "status"),
        Index("ix_comment_root", "root_id"),
        Index("ix_comment_status_created", "status", "created_at"),
        Index("ix_comment_author", "author_id", "thread_id"),
        # A thread's newest published id (every read) and published count (every write), off the index.
        Index("ix_comment_thread_status_id", "thread_id", "status", "id"),
        # Date ranges over every status (replay, calibration, the nudge funnel): bench/scale.py.
        Index("ix_comment_created", "created_at"),
        # Calibration reads only comments a moderator decided.
        Index("ix_comment_decided_created", "created_at",
              sqlite_where=text("moderator_decided = 1"), postgresql_where=text("moderator_decided")),
        # The duplicate guard on guest posts (same IP hash, recent): bounded on a hot thread.
        Index("ix_comment_ip_created", "ip_hash", "created_at"),
        # The stats page's oldest pending comment: the first entry of a site, not a scan of the queue.
        Index("ix_comment_pending_since", "status_changed_at",
              sqlite_where=text("status = 'PENDING'"), postgresql_where=text("status = 'PENDING'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id", ondelete="SET NULL"))
    # Top-level ancestor (itself for a top-level comment): one query fetches a whole subtree.
    root_id: Mapped[int | None] = mapped_column(Integer)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    # The name shown with the comment, as it was when posted.
    author_name: Mapped[str] = mapped_column(String(64))
    body_markdown: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    status: Mapped[CommentStatus] = mapped_column(Enum(CommentStatus, native_enum=False, length=16))
    # Machine-readable reason codes for the current status, e.g. ["toxicity:insult"].
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    scores: Mapped[dict[str, float] | None] = mapped_column(JSON)
    # Salted hash of the poster's IP; the IP itself is never stored.
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    likes: Mapped[int] = mapped_column(Integer, default=0)
    # Likes carried over from an import, which no Vote row backs: likes = likes_base + votes.
    likes_base: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    is_featured: Mapped[bool] = mapped_column(Boolean, default=False)
    # Toxicity nudge bookkeeping: shown a warning, posted anyway, or rephrased after one.
    warned: Mapped[bool] = mapped_column(Boolean, default=False)
    rephrased_after_warning: Mapped[bool] = mapped_column(Boolean, default=False)
    # True once a moderator decided; automatic rescoring never overrides a human decision.
    moderator_decided: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    thread: Mapped[Thread] = relationship()
    author: Mapped[User] = relationship()

    def set_status(self, status: CommentStatus, reasons: list[str]) -> None:
        self.status = status
        self.reasons = list(reasons)
        self.status_changed_at = utcnow()


# A queue's first page sorted by toxicity walks this index instead of scoring and sorting every
# comment in the queue (bench/scale.py: 50,000 pending comments at a million).
Index("ix_comment_status_toxicity", Comment.__table__.c.status,
      max_label_score(Comment.__table__.c.scores).desc(), Comment.__table__.c.created_at, Comment.__table__.c.id)
# A thread page's top-level comments in the default order (featured first, then oldest), so the first
# page of a huge thread reads 50 index entries instead of sorting every top-level comment.
Index("ix_comment_thread_roots", Comment.__table__.c.thread_id, Comment.__table__.c.is_featured.desc(),
      Comment.__table__.c.id, sqlite_where=text("parent_id IS NULL"), postgresql_where=text("parent_id IS NULL"))
# The reported queue (published comments with reports, most reported first) and its size, off the index.
Index("ix_comment_reported", Comment.__table__.c.status, Comment.__table__.c.report_count.desc(),
      Comment.__table__.c.created_at, Comment.__table__.c.id,
      sqlite_where=text("report_count > 0"), postgresql_where=text("report_count > 0"))
# The queue's text search is LIKE '%words%' on lower(body_text) and lower(author_name): trigram
# indexes answer that on PostgreSQL (SQLite scans, which is fine at its sizes).
for _name, _column in (("ix_comment_body_trgm", Comment.__table__.c.body_text),
                       ("ix_comment_author_name_trgm", Comment.__table__.c.author_name)):
    Index(_name, func.lower(_column).label(f"lower_{_column.name}"), postgresql_using="gin",
          postgresql_ops={f"lower_{_column.name}": "gin_trgm_ops"}).ddl_if(dialect="postgresql")


class Vote(db.Model):
    """One per reader per comment; a vote sent without any identity is kept by IP hash instead
    (user_id NULL), one per address per comment, and mints no user."""

    __table_args__ = (UniqueConstraint("comment_id", "user_id", name="uq_vote_comment_user"),
                      UniqueConstraint("comment_id", "ip_hash", name="uq_vote_comment_ip"))

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Report(db.Model):
    """One report per reader per comment, enforced by the database (so concurrent duplicates
    cannot both land): by user for readers with an identity, by IP hash for anonymous ones."""

    __table_args__ = (
        UniqueConstraint("comment_id", "user_id", name="uq_report_comment_user"),
        Index("uq_report_comment_ip_anonymous", "comment_id", "ip_hash", unique=True,
              sqlite_where=text("user_id IS NULL"), postgresql_where=text("user_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reason: Mapped[ReportReason] = mapped_column(Enum(ReportReason, native_enum=False, length=16))
    note: Mapped[str | None] = mapped_column(String(1000))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ModerationEvent(db.Model):
    """Audit row for every status change and moderator action, human or automatic."""

    __table_args__ = (Index("ix_event_site_created", "site_id", "created_at"),
                      # The audit log's first page for an admin (every site): newest first.
                      Index("ix_event_created", "created_at", "id"),
                      UniqueConstraint("undo_of_id", name="uq_event_undo_of"))

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"), index=True)
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Who decided: a staff user, or None with actor_label naming the rule/system/author.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(String(1000))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Set on an "undo" row: the event it reversed (an event is undone at most once).
    undo_of_id: Mapped[int | None] = mapped_column(ForeignKey("moderation_event.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])


class NudgeWarning(db.Model):
    """A toxicity nudge shown to a reader: the start of the nudge funnel (warned, then rephrased,
    posted anyway or abandoned). The reader is the author id if known, else the IP hash."""

    __table_args__ = (Index("ix_nudge_site_created", "site_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    article_id: Mapped[str] = mapped_column(String(512))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
