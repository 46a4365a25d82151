"""Reader reactions: likes and reports."""
from __future__ import annotations

from sqlalchemy import func, select

from discuss.errors import ApiError, NotFound
from discuss.extensions import db
from discuss.models import AuthorKind, Comment, CommentStatus, Report, ReportReason, User, Vote
from discuss.moderation.audit import record_event
from discuss.moderation.reports import hold_if_reported_enough
from discuss.models.queries import touch_thread

ANONYMOUS_READER_NAME = "Reader"


def _published(comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.status is not CommentStatus.PUBLISHED:
        raise NotFound("comment")
    return comment


def vote(comment_id: int, viewer: User | None, value: int) -> tuple[int, int, User]:
    """Like (1) or un-like (0). One vote per reader; a reader without identity gets a guest one."""
    comment = _published(comment_id)
    if viewer is None:
        viewer = User(kind=AuthorKind.GUEST, display_name=ANONYMOUS_READER_NAME)
        db.session.add(viewer)
        db.session.flush()
    existing = db.session.scalar(select(Vote).where(Vote.comment_id == comment.id, Vote.user_id == viewer.id))
    if existing is None:
        db.session.add(Vote(comment_id=comment.id, user_id=viewer.id, value=value))
    else:
        existing.value = value
    db.session.flush()
    comment.likes = db.session.scalar(
        select(func.count(Vote.id)).where(Vote.comment_id == comment.id, Vote.value == 1)) or 0
    likes = comment.likes
    touch_thread(comment.thread_id)
    db.session.commit()
    return likes, value, viewer


def report(comment_id: int, viewer: User | None, reason: str, note: str | None, ip_hash: str | None) -> Report:
    comment = _published(comment_id)
    same_reader = Report.user_id == viewer.id if viewer is not None else Report.ip_hash == ip_hash
    if db.session.scalar(select(Report.id).where(Report.comment_id == comment.id, same_reader,
                                                 Report.resolved_at.is_(None))):
        raise ApiError("already_reported", "You already reported this comment. Moderators will review it.", 409)
    entry = Report(comment_id=comment.id, user_id=viewer.id if viewer else None, reason=ReportReason(reason),
                   note=(note or "").strip() or None, ip_hash=ip_hash)
    db.session.add(entry)
    comment.report_count = (comment.report_count or 0) + 1
    record_event(site_id=comment.thread.site_id, action="report",
                 actor_label=f"reader:{viewer.id}" if viewer else "reader:anonymous", comment=comment,
                 reasons=[f"report:{reason}"], note=entry.note)
    if hold_if_reported_enough(comment):
        touch_thread(comment.thread_id)
    db.session.commit()
    return entry
