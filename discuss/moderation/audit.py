"""The moderation audit trail: recording ModerationEvent rows (every status change goes
through here) and browsing them, scoped to the sites an actor moderates."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from discuss.errors import ValidationFailed
from discuss.locales import N_
from discuss.security import ID_MAX, MAX_PAGE_NUMBER, parse_int_arg
from discuss.extensions import db
from discuss.identity.staff import Actor
from discuss.models import Comment, CommentStatus, ModerationEvent, Site, User
from discuss.models.queries import count_capped

PER_PAGE = 50
# A comment's statuses as words, translated where an error message names one.
STATUS_WORDS = {"published": N_("published"), "pending": N_("pending"), "rejected": N_("rejected"),
                "deleted": N_("deleted")}


def record_event(**fields: Any) -> ModerationEvent:
    """Add an audit row (``new_event``'s arguments) to the session; the calling service commits
    it with its change."""
    event = new_event(**fields)
    db.session.add(event)
    return event


def new_event(*, site_id: int, action: str, actor: User | None = None, actor_label: str | None = None,
              comment: Comment | None = None, from_status: CommentStatus | None = None,
              to_status: CommentStatus | None = None, reasons: list[str] | None = None,
              note: str | None = None, thread_id: int | None = None,
              target_user_id: int | None = None, details: dict[str, Any] | None = None) -> ModerationEvent:
    """An audit row, not yet in the session: ``record_event`` adds it, the posting path inserts it
    in one statement (models.rows.insert_row)."""
    return ModerationEvent(
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


# -- browsing the trail ------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    site_id: int | None = None
    action: str | None = None
    actor: str | None = None
    comment_id: int | None = None
    page: int = 1


def parse_audit_filters(args: Mapping[str, Any], sites_by_slug: dict[str, Site]) -> AuditFilters:
    errors: dict[str, str] = {}
    slug = (args.get("site") or "").strip()
    if slug and slug not in sites_by_slug:
        errors["site"] = N_("no such site among the ones you moderate")
    numbers = {}
    for name in ("comment", "page"):
        try:
            numbers[name] = parse_int_arg(args.get(name), 0, MAX_PAGE_NUMBER if name == "page" else ID_MAX)
        except ValueError:
            errors[name] = N_("a number")
    if errors:
        raise ValidationFailed(errors)
    return AuditFilters(site_id=sites_by_slug[slug].id if slug else None,
                        action=(args.get("action") or "").strip() or None,
                        actor=(args.get("actor") or "").strip() or None,
                        comment_id=numbers.get("comment"), page=max(1, numbers.get("page") or 1))


def load_events(actor: Actor, filters: AuditFilters) -> tuple[list[ModerationEvent], int, bool]:
    """A page of events, newest first, with their total and whether it is capped
    (``count_capped``: more events than the total say, which the page counts no further)."""
    query = select(ModerationEvent)
    if filters.site_id is not None:
        query = query.where(ModerationEvent.site_id == filters.site_id)
    elif actor.site_ids is not None:
        query = query.where(ModerationEvent.site_id.in_(actor.site_ids or [-1]))
    if filters.action:
        query = query.where(ModerationEvent.action == filters.action)
    if filters.actor:
        query = query.where(or_(ModerationEvent.actor_label == filters.actor,
                                ModerationEvent.actor_label.like(filters.actor + ":%")))
    if filters.comment_id:
        query = query.where(ModerationEvent.comment_id == filters.comment_id)
    total, capped = count_capped(query.with_only_columns(ModerationEvent.id), filters.page * PER_PAGE)
    page = (query.options(selectinload(ModerationEvent.actor))
            .order_by(ModerationEvent.created_at.desc(), ModerationEvent.id.desc())
            .limit(PER_PAGE).offset((filters.page - 1) * PER_PAGE))
    return list(db.session.scalars(page)), total, capped


def known_actions(actor: Actor) -> list[str]:
    query = select(ModerationEvent.action).distinct().order_by(ModerationEvent.action)
    if actor.site_ids is not None:
        query = query.where(ModerationEvent.site_id.in_(actor.site_ids or [-1]))
    return list(db.session.scalars(query))
