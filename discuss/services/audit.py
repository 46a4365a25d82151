"""Recording ModerationEvent rows. Every status change goes through here."""
from __future__ import annotations

from typing import Any

from discuss.extensions import db
from discuss.models import Comment, CommentStatus, ModerationEvent, User


def record_event(*, site_id: int, action: str, actor: User | None = None, actor_label: str | None = None,
                 comment: Comment | None = None, from_status: CommentStatus | None = None,
                 to_status: CommentStatus | None = None, reasons: list[str] | None = None,
                 note: str | None = None, thread_id: int | None = None,
                 target_user_id: int | None = None, details: dict[str, Any] | None = None) -> ModerationEvent:
    """Add an audit row to the session; the calling service commits it with its change."""
    event = ModerationEvent(
        site_id=site_id,
        comment_id=comment.id if comment is not None else None,
        thread_id=thread_id if thread_id is not None else (comment.thread_id if comment is not None else None),
        target_user_id=target_user_id if target_user_id is not None else (comment.author_id if comment else None),
        actor_id=actor.id if actor is not None else None,
        actor_label=actor_label or (f"staff:{actor.id}" if actor is not None else "system"),
        action=action,
        from_status=from_status.value if from_status else None,
        to_status=to_status.value if to_status else None,
        reasons=list(reasons or []),
        note=note,
        details=details,
    )
    db.session.add(event)
    return event


def change_status(comment: Comment, to_status: CommentStatus, *, reasons: list[str], action: str,
                  actor: User | None = None, actor_label: str | None = None, note: str | None = None,
                  details: dict[str, Any] | None = None) -> ModerationEvent:
    """Move a comment to a new status and audit it. Caller refreshes thread counts and commits."""
    from_status = comment.status
    comment.set_status(to_status, reasons)
    if actor is not None:
        comment.moderator_decided = True
    db.session.flush()
    return record_event(site_id=comment.thread.site_id, action=action, actor=actor, actor_label=actor_label,
                        comment=comment, from_status=from_status, to_status=to_status, reasons=reasons,
                        note=note, details=details)
