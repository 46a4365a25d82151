"""Undo a moderator action from its audit row.

The dashboard offers it for 10 seconds after an action in the queue and at any time from the
audit log. An action can be undone once, only while what it changed is still as it left it
(a comment rejected and since restored by someone else is not "un-rejected" again), and the
undo is itself an audit row (action ``undo``, ``undo_of_id`` naming the undone row).
"""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import func, select, update

from discuss.errors import ApiError, NotFound
from discuss.locales import N_
from discuss.extensions import db
from discuss.identity.staff import Actor
from discuss.models import Ban, Comment, CommentStatus, ModerationEvent, Report, Site, Thread, utcnow
from discuss.models.queries import touch_thread
from discuss.models.totals import forget_days, lock_queue_totals
from discuss.moderation.audit import STATUS_WORDS, record_event

COMMENT_STATUS_ACTIONS = ("approve", "reject", "remove", "restore")
THREAD_FLAGS = {"close": ("is_closed", True), "reopen": ("is_closed", False),
                "premoderate": ("is_premoderated", True), "unpremoderate": ("is_premoderated", False)}
SETTINGS_ACTIONS = ("settings", "apply_thresholds")


class NotReversible(ApiError):
    def __init__(self, message: str):
        super().__init__("not_reversible", message, 409)


def undone_ids(event_ids: list[int]) -> set[int]:
    """Which of these audit rows were undone; asked 1,000 ids at a time (a day's stats asks for every decision)."""
    return {undone for start in range(0, len(event_ids), 1000) for undone in db.session.scalars(
        select(ModerationEvent.undo_of_id).where(ModerationEvent.undo_of_id.in_(event_ids[start:start + 1000])))}


def reversible(event: ModerationEvent) -> bool:
    """Whether this kind of row can be undone at all (the state check happens on undo)."""
    if event.action == "undo" or (event.actor_id is None and not event.actor_label.startswith("api:")):
        return False
    if event.action in SETTINGS_ACTIONS:
        return bool(event.details and "old" in event.details)
    if event.action in ("ban", "suspend"):
        return bool(event.details and event.details.get("ban_id"))
    return event.action in COMMENT_STATUS_ACTIONS + ("feature", "unfeature", "unban") + tuple(THREAD_FLAGS)


def latest_action_event(actor: Actor, comment_id: int) -> ModerationEvent | None:
    """The newest row this actor wrote about a comment: what the queue's Undo button undoes."""
    return db.session.scalar(select(ModerationEvent)
                             .where(ModerationEvent.comment_id == comment_id,
                                    ModerationEvent.actor_label == actor.label)
                             .order_by(ModerationEvent.id.desc()).limit(1))


def undo_event(actor: Actor, event_id: int) -> ModerationEvent:
    """Reverse one audited action and record the undo; commits. 404 outside the actor's sites,
    409 ``not_reversible`` when the action cannot be (or can no longer be) reversed."""
    event = db.session.get(ModerationEvent, event_id)
    if event is None or not actor.can_moderate(event.site_id):
        raise NotFound(N_("event"))
    if not reversible(event):
        raise NotReversible(N_("A '%(action)s' entry cannot be undone.", action=event.action))
    if event.action in SETTINGS_ACTIONS and not actor.can_configure(event.site_id):
        raise NotReversible(N_("Only admins can undo a settings change."))
    if undone_ids([event.id]):
        raise NotReversible(N_("This action was already undone."))
    handler: Callable[[Actor, ModerationEvent], dict[str, Any]] = (
        _undo_comment_status if event.action in COMMENT_STATUS_ACTIONS else
        _undo_feature if event.action in ("feature", "unfeature") else
        _undo_thread if event.action in THREAD_FLAGS else
        _undo_settings if event.action in SETTINGS_ACTIONS else
        _undo_ban if event.action in ("ban", "suspend") else _undo_unban)
    record = handler(actor, event)
    undo = record_event(site_id=event.site_id, action="undo", actor=actor.user, actor_label=actor.label,
                        thread_id=event.thread_id, target_user_id=event.target_user_id,
                        details={"undoes": event.id, "undone_action": event.action, **record.pop("details", {})},
                        **record)
    _link_undo(undo, event)
    if event.thread_id is not None:
        touch_thread(event.thread_id)
    db.session.commit()
    return undo


def _link_undo(undo: ModerationEvent, undone: ModerationEvent) -> None:
    """Name the undone row, and forget the stored stats day that counted it (moderation/stats.py)."""
    undo.undo_of_id = undone.id
    forget_days(undone.site_id, [undone.created_at.date()])


def _comment(event: ModerationEvent) -> Comment:
    comment = db.session.get(Comment, event.comment_id) if event.comment_id else None
    if comment is None:
        raise NotReversible(N_("The comment no longer exists."))
    return comment


def _undo_comment_status(actor: Actor, event: ModerationEvent) -> dict[str, Any]:
    comment = _comment(event)
    if comment.status.value != event.to_status:
        raise NotReversible(N_("Comment #%(id)s is %(status)s now; it was changed since.", id=comment.id,
                               status=STATUS_WORDS.get(comment.status.value, comment.status.value)))
    previous = (event.details or {}).get("previous") or {}
    from_status = comment.status
    if event.from_status != event.to_status:
        comment.set_status(CommentStatus(event.from_status), list(previous.get("reasons", [])))
    comment.moderator_decided = bool(previous.get("moderator_decided", False))
    if previous.get("is_featured") and comment.status is CommentStatus.PUBLISHED:
        comment.is_featured = True
    reopened = _reopen_reports(comment, (event.details or {}).get("reports_resolved_ids") or [])
    return {"comment": comment, "from_status": from_status, "to_status": comment.status,
            "reasons": list(comment.reasons or []), "details": {"reports_reopened": reopened}}


def _reopen_reports(comment: Comment, report_ids: list[int]) -> int:
    if report_ids:
        db.session.execute(update(Report).where(Report.id.in_(report_ids), Report.comment_id == comment.id)
                           .values(resolved_at=None).execution_options(synchronize_session=False))
    comment.report_count = db.session.scalar(select(func.count(Report.id)).where(
        Report.comment_id == comment.id, Report.resolved_at.is_(None))) or 0
    return len(report_ids)


def _undo_feature(actor: Actor, event: ModerationEvent) -> dict[str, Any]:
    comment = _comment(event)
    featured = event.action == "feature"
    if comment.is_featured != featured:
        raise NotReversible(N_("Comment #%(id)s was changed since.", id=comment.id))
    comment.is_featured = not featured
    return {"comment": comment}


def _undo_thread(actor: Actor, event: ModerationEvent) -> dict[str, Any]:
    thread = db.session.get(Thread, event.thread_id) if event.thread_id else None
    if thread is None:
        raise NotReversible(N_("The thread no longer exists."))
    attribute, value = THREAD_FLAGS[event.action]
    if getattr(thread, attribute) != value:
        raise NotReversible(N_("The thread was changed since."))
    setattr(thread, attribute, not value)
    return {}


def _undo_settings(actor: Actor, event: ModerationEvent) -> dict[str, Any]:
    site = db.session.get(Site, event.site_id)
    old, new = event.details["old"], event.details.get("new") or {}
    current = {**site.effective_settings(), "allowed_origins": sorted(site.allowed_origins or [])}
    if any(current.get(key) != value for key, value in new.items()):
        raise NotReversible(N_("These settings were changed since."))
    settings = dict(site.settings or {})
    for key, value in old.items():
        if key == "allowed_origins":
            site.allowed_origins = list(value)
        else:
            settings[key] = value
    site.settings = settings
    return {"details": {"old": new, "new": old}}


def _undo_ban(actor: Actor, event: ModerationEvent) -> dict[str, Any]:
    ban = db.session.get(Ban, event.details["ban_id"])
    if ban is None or not ban.active_at(utcnow()):
        raise NotReversible(N_("That ban is no longer active."))
    ban.lifted_at = utcnow()
    lock_queue_totals([event.site_id])
    restored, changed = _restore_ban_rejections(actor, event)
    return {"details": {"ban_ids": [ban.id], "comments_restored": restored, "comments_changed_since": changed}}


def _restore_ban_rejections(actor: Actor, ban_event: ModerationEvent) -> tuple[list[int], list[int]]:
    """Put back the comments the ban rejected from the queue ("reject pending" when banning), each
    to its status and reasons before the ban, each with its own undo row (so the rejection is
    marked undone). A comment whose latest audit row is no longer that rejection was decided again
    since: it is left as it is, and named in the ban's undo row."""
    restored, changed = [], []
    for comment_id in (ban_event.details or {}).get("rejected_comment_ids") or []:
        latest = db.session.scalar(select(ModerationEvent).where(ModerationEvent.comment_id == comment_id)
                                   .order_by(ModerationEvent.id.desc()).limit(1))
        comment = db.session.get(Comment, comment_id)
        if (latest is None or comment is None or latest.action != "reject"
                or "author_banned" not in (latest.reasons or []) or comment.status is not CommentStatus.REJECTED):
            changed.append(comment_id)
            continue
        record = _undo_comment_status(actor, latest)
        row = record_event(site_id=ban_event.site_id, action="undo", actor=actor.user, actor_label=actor.label,
                           details={"undoes": latest.id, "undone_action": latest.action, "with_ban": ban_event.id,
                                    **record.pop("details", {})}, **record)
        _link_undo(row, latest)
        touch_thread(comment.thread_id)
        restored.append(comment_id)
    return restored, changed


def _undo_unban(actor: Actor, event: ModerationEvent) -> dict[str, Any]:
    ids = (event.details or {}).get("ban_ids") or []
    bans = list(db.session.scalars(select(Ban).where(Ban.id.in_(ids)))) if ids else []
    if not bans or any(b.lifted_at is None for b in bans):
        raise NotReversible(N_("Those bans were changed since."))
    for ban in bans:
        ban.lifted_at = None
    return {"details": {"ban_ids": [b.id for b in bans]}}
