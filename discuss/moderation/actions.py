"""Moderator actions on comments, authors and threads.

Every change is checked against the actor's sites, audited as a ModerationEvent, and followed by
``touch_thread`` so readers see it on their next read. Each public function commits once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from sqlalchemy import func, select, update

from discuss.errors import ApiError, NotFound, ValidationFailed
from discuss.locales import N_
from discuss.extensions import db
from discuss.models import (AuthorKind, Ban, Comment, CommentStatus, RejectReason, Report, Site, Thread, User,
                            utcnow)
from discuss.moderation.audit import STATUS_WORDS, change_status, record_event
from discuss.identity.staff import Actor
from discuss.jobs import webhooks
from discuss.jobs.notifications import announce_if_published_reply
from discuss.models.queries import touch_thread
from discuss.models.totals import lock_queue_totals
from discuss.sanitize import thread_title
from discuss.security import ID_MAX

COMMENT_ACTIONS = ("approve", "reject", "remove", "restore", "feature", "unfeature")
THREAD_ACTIONS = ("close", "reopen", "premoderate", "unpremoderate")
MAX_NOTE_CHARS = 1000
MAX_BAN_DAYS = 3650
MAX_BULK = 200


# The verbs in "Cannot approve a comment that is published.", to be translated with it.
ACTION_VERBS = {"approve": N_("approve"), "reject": N_("reject"), "remove": N_("remove"), "restore": N_("restore"),
                "feature": N_("feature"), "unfeature": N_("unfeature")}


class InvalidTransition(ApiError):
    def __init__(self, comment: Comment, action: str):
        status = comment.status.value
        super().__init__("invalid_transition", N_("Cannot %(action)s a comment that is %(status)s.",
                                                  action=ACTION_VERBS.get(action, action),
                                                  status=STATUS_WORDS.get(status, status)), 409)


@dataclass(frozen=True)
class ActionResult:
    comment_id: int
    ok: bool
    status: str | None = None
    error: str | None = None


def parse_reject_reason(value: str | None) -> RejectReason:
    try:
        return RejectReason((value or "other").strip().lower())
    except ValueError:
        choices = ", ".join(r.value for r in RejectReason)
        raise ValidationFailed({"reason": N_("choose one of: %(choices)s", choices=choices)}) from None


def clean_note(note: str | None) -> str | None:
    note = (note or "").strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ValidationFailed({"note": N_("at most %(num)s characters", num=MAX_NOTE_CHARS)})
    return note or None


# --- single comment -----------------------------------------------------------------------

def apply_comment_action(actor: Actor, comment: Comment, action: str, *, reason: str | None = None,
                         note: str | None = None) -> Comment:
    """Approve, reject, remove, restore, feature or unfeature one comment, then commit."""
    handler = _handler_for(action)
    actor.require_site(comment.thread.site_id)
    handler(actor, comment, reason=reason, note=clean_note(note))
    touch_thread(comment.thread_id)
    db.session.commit()
    announce_if_published_reply(comment)
    webhooks.announce(comment)
    return comment


def apply_bulk_action(actor: Actor, comment_ids: list[int], action: str, *, reason: str | None = None,
                      note: str | None = None) -> list[ActionResult]:
    """Apply one action to many comments in one transaction; each id reports its own outcome."""
    handler = _handler_for(action)
    note = clean_note(note)
    if action in ("reject", "remove"):
        parse_reject_reason(reason)
    ids = list(dict.fromkeys(int(i) for i in comment_ids))[:MAX_BULK]
    ids = [i if 0 < i <= ID_MAX else 0 for i in ids]  # no row has such an id: reported as not found
    comments = {c.id: c for c in db.session.scalars(select(Comment).where(Comment.id.in_(ids)))}
    lock_queue_totals(c.thread.site_id for c in comments.values() if actor.can_moderate(c.thread.site_id))
    results, touched = [], set()
    for comment_id in ids:
        comment = comments.get(comment_id)
        if comment is None or not actor.can_moderate(comment.thread.site_id):
            results.append(ActionResult(comment_id, False, error="not_found"))
            continue
        try:
            handler(actor, comment, reason=reason, note=note)
        except ApiError as err:
            results.append(ActionResult(comment_id, False, comment.status.value, err.code))
            continue
        touched.add(comment.thread_id)
        results.append(ActionResult(comment_id, True, comment.status.value))
    for thread_id in sorted(touched):
        touch_thread(thread_id)
    db.session.commit()
    for result in results:
        if result.ok:
            announce_if_published_reply(comments[result.comment_id])
    webhooks.announce(*[comments[r.comment_id] for r in results if r.ok])
    return results


def _handler_for(action: str) -> Callable[..., None]:
    handlers = {"approve": _approve, "reject": _reject, "remove": _remove, "restore": _restore,
                "feature": _feature, "unfeature": _unfeature}
    if action not in handlers:
        raise ValidationFailed({"action": N_("choose one of: %(choices)s", choices=", ".join(COMMENT_ACTIONS))})
    return handlers[action]


def previous_state(comment: Comment) -> dict:
    """What an undo needs to put back (moderation.undo): stored in the action's audit details."""
    return {"reasons": list(comment.reasons or []), "moderator_decided": bool(comment.moderator_decided),
            "is_featured": bool(comment.is_featured)}


def _decide(actor: Actor, comment: Comment, to_status: CommentStatus, action: str, reasons: list[str],
            note: str | None, details: dict | None = None, previous: dict | None = None) -> None:
    details = {**(details or {}), "previous": previous or previous_state(comment)}
    change_status(comment, to_status, reasons=reasons, action=action, actor=actor.user,
                  actor_label=actor.label, note=note, details=details)
    comment.moderator_decided = True


def _approve(actor: Actor, comment: Comment, *, reason=None, note=None) -> None:
    if comment.status == CommentStatus.PENDING:
        # A comment held by its reports (reports_threshold) is decided: its reports are resolved.
        resolved = _resolve_reports(comment) if comment.report_count else []
        _decide(actor, comment, CommentStatus.PUBLISHED, "approve", [], note,
                {"reports_resolved": len(resolved), "reports_resolved_ids": resolved} if resolved else None)
    elif comment.status == CommentStatus.REJECTED:
        _decide(actor, comment, CommentStatus.PUBLISHED, "restore", [], note)
    elif comment.status == CommentStatus.PUBLISHED and comment.report_count > 0:
        # Approving a reported comment keeps it up and clears the reports.
        previous = previous_state(comment)
        resolved = _resolve_reports(comment)
        comment.moderator_decided = True
        record_event(site_id=comment.thread.site_id, action="approve", actor=actor.user,
                     actor_label=actor.label, comment=comment, from_status=comment.status,
                     to_status=comment.status, note=note,
                     details={"reports_resolved": len(resolved), "reports_resolved_ids": resolved,
                              "previous": previous})
    else:
        raise InvalidTransition(comment, "approve")


def _reject(actor: Actor, comment: Comment, *, reason=None, note=None) -> None:
    if comment.status == CommentStatus.PUBLISHED:
        _remove(actor, comment, reason=reason, note=note)
        return
    if comment.status != CommentStatus.PENDING:
        raise InvalidTransition(comment, "reject")
    code = parse_reject_reason(reason).value
    resolved = _resolve_reports(comment) if comment.report_count else []
    _decide(actor, comment, CommentStatus.REJECTED, "reject", [f"reject:{code}"], note,
            {"reports_resolved": len(resolved), "reports_resolved_ids": resolved} if resolved else None)


def _remove(actor: Actor, comment: Comment, *, reason=None, note=None) -> None:
    if comment.status != CommentStatus.PUBLISHED:
        raise InvalidTransition(comment, "remove")
    code = parse_reject_reason(reason).value
    previous = previous_state(comment)
    resolved = _resolve_reports(comment)
    comment.is_featured = False
    _decide(actor, comment, CommentStatus.REJECTED, "remove", [f"reject:{code}"], note,
            {"reports_resolved": len(resolved), "reports_resolved_ids": resolved} if resolved else None,
            previous=previous)


def _restore(actor: Actor, comment: Comment, *, reason=None, note=None) -> None:
    if comment.status != CommentStatus.REJECTED:
        raise InvalidTransition(comment, "restore")
    _decide(actor, comment, CommentStatus.PUBLISHED, "restore", [], note)


def _feature(actor: Actor, comment: Comment, *, reason=None, note=None) -> None:
    if comment.status != CommentStatus.PUBLISHED:
        raise InvalidTransition(comment, "feature")
    _set_featured(actor, comment, True, note)


def _unfeature(actor: Actor, comment: Comment, *, reason=None, note=None) -> None:
    _set_featured(actor, comment, False, note)


def _set_featured(actor: Actor, comment: Comment, featured: bool, note: str | None) -> None:
    comment.is_featured = featured
    record_event(site_id=comment.thread.site_id, action="feature" if featured else "unfeature",
                 actor=actor.user, actor_label=actor.label, comment=comment, note=note)


def _resolve_reports(comment: Comment) -> list[int]:
    """Resolve the comment's open reports; their ids, so an undo can reopen exactly these."""
    ids = list(db.session.scalars(select(Report.id).where(Report.comment_id == comment.id,
                                                          Report.resolved_at.is_(None)).order_by(Report.id)))
    if ids:
        db.session.execute(update(Report).where(Report.id.in_(ids)).values(resolved_at=utcnow())
                           .execution_options(synchronize_session=False))
    comment.report_count = 0
    return ids



# --- authors ------------------------------------------------------------------------------

def ban_author(actor: Actor, site_id: int, user_id: int, *, days: int | None = None,
               reason: str | None = None, reject_pending: bool = False) -> Ban:
    """Ban (days None) or suspend (for ``days``) an author on one site; optionally reject their queue."""
    actor.require_site(site_id)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(N_("author"))
    if user.is_staff:
        raise ApiError("cannot_ban_staff", N_("Staff accounts cannot be banned here."), 409)
    if days is not None and not 1 <= days <= MAX_BAN_DAYS:
        raise ValidationFailed({"days": N_("between 1 and %(num)s, or empty for a permanent ban", num=MAX_BAN_DAYS)})
    until = utcnow() + timedelta(days=days) if days else None
    ip_hash, ip_until = _ban_ip_cover(site_id, user.id, until)
    ban = Ban(site_id=site_id, user_id=user.id, until=until, reason=clean_note(reason),
              created_by_id=actor.user.id if actor.user else None, ip_hash=ip_hash, ip_until=ip_until)
    db.session.add(ban)
    db.session.flush()
    rejected = _reject_pending_of(actor, site_id, user.id) if reject_pending else []
    record_event(site_id=site_id, action="suspend" if days else "ban", actor=actor.user,
                 actor_label=actor.label, target_user_id=user.id, note=ban.reason,
                 details={"until": until.isoformat() if until else None, "days": days,
                          "rejected_comment_ids": rejected, "ban_id": ban.id})
    db.session.commit()
    webhooks.announce(*rejected)
    return ban


def _reject_pending_of(actor: Actor, site_id: int, user_id: int) -> list[int]:
    lock_queue_totals([site_id])
    pending = list(db.session.scalars(
        select(Comment).join(Thread, Thread.id == Comment.thread_id)
        .where(Thread.site_id == site_id, Comment.author_id == user_id,
               Comment.status == CommentStatus.PENDING)))
    for comment in pending:
        _decide(actor, comment, CommentStatus.REJECTED, "reject", ["reject:abuse", "author_banned"], None)
    for thread_id in sorted({c.thread_id for c in pending}):
        touch_thread(thread_id)
    return [c.id for c in pending]


def ban_by_email(actor: Actor, site_id: int, email: str, **options) -> Ban:
    """Ban the comment account registered with ``email`` (accounts only: guests' emails are unverified)."""
    address = (email or "").strip().lower()
    user = db.session.scalar(select(User).where(func.lower(User.email) == address,
                                                User.kind == AuthorKind.ACCOUNT).limit(1)) if address else None
    if user is None:
        raise NotFound(N_("account with that email"))
    return ban_author(actor, site_id, user.id, **options)


def _ban_ip_cover(site_id: int, user_id: int, until):
    """The author's last IP hash on this site, covered for ban_ip_days (never past the ban's end):
    dropping a token and posting as a new guest from the same address does not get around it."""
    site = db.session.get(Site, site_id)
    days = int(site.effective_settings().get("ban_ip_days") or 0) if site else 0
    if not days:
        return None, None
    ip_hash = db.session.scalar(select(Comment.ip_hash).join(Thread, Thread.id == Comment.thread_id)
                                .where(Thread.site_id == site_id, Comment.author_id == user_id,
                                       Comment.ip_hash.is_not(None))
                                .order_by(Comment.created_at.desc(), Comment.id.desc()).limit(1))
    if ip_hash is None:
        return None, None
    cover_until = utcnow() + timedelta(days=days)
    return ip_hash, min(cover_until, until) if until else cover_until


def lift_bans(actor: Actor, site_id: int, user_id: int) -> int:
    actor.require_site(site_id)
    now = utcnow()
    bans = [b for b in db.session.scalars(select(Ban).where(Ban.site_id == site_id, Ban.user_id == user_id))
            if b.active_at(now)]
    for ban in bans:
        ban.lifted_at = now
    if bans:
        record_event(site_id=site_id, action="unban", actor=actor.user, actor_label=actor.label,
                     target_user_id=user_id, details={"ban_ids": [b.id for b in bans]})
    db.session.commit()
    return len(bans)


# --- threads ------------------------------------------------------------------------------

def edit_thread(actor: Actor, thread: Thread, *, title: str | None = None, url: str | None = None) -> Thread:
    """Correct a thread's title or article URL (the first post set them); audited as edit_thread."""
    actor.require_site(thread.site_id)
    before = {"title": thread.title, "url": thread.url}
    if title is not None:
        thread.title = thread_title(title)
    if url is not None:
        url = url.strip()
        if url and (not url.startswith(("https://", "http://")) or not thread.site.allows_article_url(url)):
            raise ApiError("article_url_not_allowed", N_("The URL must be on one of this site's allowed origins."),
                           400, fields={"url": N_("not on one of the site's allowed origins")})
        thread.url = url or None
    after = {"title": thread.title, "url": thread.url}
    if after != before:
        record_event(site_id=thread.site_id, action="edit_thread", actor=actor.user, actor_label=actor.label,
                     thread_id=thread.id, details={"from": before, "to": after})
        touch_thread(thread.id)
    db.session.commit()
    return thread


def apply_thread_action(actor: Actor, thread: Thread, action: str, *, note: str | None = None) -> Thread:
    """Close/reopen a thread to new comments, or turn per-thread pre-moderation on/off."""
    flags = {"close": ("is_closed", True), "reopen": ("is_closed", False),
             "premoderate": ("is_premoderated", True), "unpremoderate": ("is_premoderated", False)}
    if action not in flags:
        raise ValidationFailed({"action": N_("choose one of: %(choices)s", choices=", ".join(THREAD_ACTIONS))})
    actor.require_site(thread.site_id)
    attribute, value = flags[action]
    setattr(thread, attribute, value)
    record_event(site_id=thread.site_id, action=action, actor=actor.user, actor_label=actor.label,
                 thread_id=thread.id, note=clean_note(note))
    touch_thread(thread.id)
    db.session.commit()
    return thread
