"""Reader reactions: likes and reports."""
from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError

from discuss.errors import ApiError, NotFound
from discuss.extensions import db
from discuss.jobs import webhooks
from discuss.models import Comment, CommentStatus, Report, ReportReason, User, Vote
from discuss.moderation.audit import record_event
from discuss.moderation.reports import hold_if_reported_enough
from discuss.models.queries import touch_thread


def _published(comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.status is not CommentStatus.PUBLISHED:
        raise NotFound("comment")
    return comment


def vote(comment_id: int, viewer: User | None, value: int, ip_hash: str | None = None) -> tuple[int, int]:
    """Like (1) or un-like (0). One vote per reader per comment; a vote without any identity counts
    once per IP hash per comment and creates no user (so it cannot mint identities either)."""
    comment = _published(comment_id)
    if viewer is None and ip_hash is None:
        raise ApiError("sign_in_required", "Sign in or post a comment to vote.", 401)
    same_voter = Vote.user_id == viewer.id if viewer is not None else and_(Vote.user_id.is_(None),
                                                                           Vote.ip_hash == ip_hash)
    existing = db.session.scalar(select(Vote).where(Vote.comment_id == comment.id, same_voter))
    if existing is None:
        try:
            with db.session.begin_nested():  # the same vote sent twice at once: the second updates
                db.session.add(Vote(comment_id=comment.id, user_id=viewer.id if viewer else None,
                                    ip_hash=None if viewer else ip_hash, value=value))
        except IntegrityError:
            existing = db.session.scalar(select(Vote).where(Vote.comment_id == comment.id, same_voter))
    if existing is not None:
        existing.value = value
    db.session.flush()
    # Likes carried over from an import (likes_base) have no Vote rows behind them.
    comment.likes = (comment.likes_base or 0) + (db.session.scalar(
        select(func.count(Vote.id)).where(Vote.comment_id == comment.id, Vote.value == 1)) or 0)
    likes = comment.likes
    touch_thread(comment.thread_id)
    db.session.commit()
    return likes, value


def _already_reported() -> ApiError:
    return ApiError("already_reported", "You already reported this comment. Moderators will review it.", 409)


def report(comment_id: int, viewer: User | None, reason: str, note: str | None, ip_hash: str | None) -> Report:
    comment = _published(comment_id)
    same_reader = Report.user_id == viewer.id if viewer is not None else Report.ip_hash == ip_hash
    if db.session.scalar(select(Report.id).where(Report.comment_id == comment.id, same_reader)):
        raise _already_reported()
    entry = Report(comment_id=comment.id, user_id=viewer.id if viewer else None, reason=ReportReason(reason),
                   note=(note or "").strip() or None, ip_hash=ip_hash)
    try:
        with db.session.begin_nested():  # the database keeps one per reader, even for concurrent reports
            db.session.add(entry)
    except IntegrityError:
        db.session.rollback()
        raise _already_reported() from None
    comment.report_count = (comment.report_count or 0) + 1
    record_event(site_id=comment.thread.site_id, action="report",
                 actor_label=f"reader:{viewer.id}" if viewer else "reader:anonymous", comment=comment,
                 reasons=[f"report:{reason}"], note=entry.note)
    if hold_if_reported_enough(comment):
        touch_thread(comment.thread_id)
    db.session.commit()
    webhooks.announce(comment)
    return entry
