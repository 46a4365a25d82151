"""Readers' data rights: download everything, delete the account; and dropping old IP hashes."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, select, update

from discuss.comments.serializers import export_comment
from discuss.errors import Forbidden
from discuss.extensions import db
from discuss.identity.revocation import end_all_sessions
from discuss.models import (Comment, CommentStatus, ReaderSession, Report, Site, Thread, User, Vote, iso,
                            utcnow)
from discuss.models.queries import touch_thread
from discuss.models.totals import lock_queue_totals
from discuss.moderation.audit import change_status, record_event

DELETED_NAME = "deleted user"


# -- export ------------------------------------------------------------------------------------

def export_data(user: User) -> dict[str, Any]:
    """Everything stored about the reader, for the reader (the only place their email is returned)."""
    sso_site = db.session.get(Site, user.sso_site_id) if user.sso_site_id else None
    profile = {"id": user.id, "kind": user.kind.value, "display_name": user.display_name, "email": user.email,
               "email_verified": bool(user.email_verified), "avatar_url": user.avatar_url,
               "notify_replies": bool(user.notify_replies), "notify_digest": bool(user.notify_digest),
               "created_at": iso(user.created_at),
               "sso": {"site": sso_site.slug, "external_id": user.external_id} if sso_site else None}
    return {"exported_at": iso(utcnow()), "profile": profile, "comments": _comments(user),
            "votes": _votes(user), "reports": _reports(user)}


def _comments(user: User) -> list[dict[str, Any]]:
    rows = db.session.execute(select(Comment, Thread, Site).join(Thread, Comment.thread_id == Thread.id)
                              .join(Site, Thread.site_id == Site.id)
                              .where(Comment.author_id == user.id).order_by(Comment.created_at, Comment.id))
    return [export_comment(c, t, s) for c, t, s in rows]


def _votes(user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Vote).where(Vote.user_id == user.id).order_by(Vote.id))
    return [{"comment_id": v.comment_id, "value": v.value, "created_at": iso(v.created_at)} for v in rows]


def _reports(user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Report).where(Report.user_id == user.id).order_by(Report.id))
    return [{"comment_id": r.comment_id, "reason": r.reason.value, "note": r.note, "created_at": iso(r.created_at)}
            for r in rows]


# -- deletion ----------------------------------------------------------------------------------

def delete_account(user: User) -> dict[str, Any]:
    """Wipe the reader's identity and apply each site's policy to their comments, in one transaction.

    "anonymize" keeps the text under the name "deleted user"; "remove" clears it (the row stays
    as a placeholder so replies keep their place). The User row itself stays, emptied and
    disabled, because comments and audit rows point at it.
    """
    if user.is_staff:
        raise Forbidden("Staff accounts are removed by an administrator.", "staff_account")
    try:
        summary = _delete_account(user)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return summary


def _delete_account(user: User) -> dict[str, Any]:
    comments = list(db.session.scalars(select(Comment).where(Comment.author_id == user.id).order_by(Comment.id)))
    lock_queue_totals(c.thread.site_id for c in comments)
    policies: dict[int, str] = {}
    per_site: dict[int, dict[str, int]] = {}
    threads: set[int] = set()
    for comment in comments:
        site = comment.thread.site
        policy = policies.setdefault(site.id, site.effective_settings()["account_deletion_policy"])
        _apply_policy(comment, policy, user)
        stats = per_site.setdefault(site.id, {"anonymized": 0, "removed": 0})
        stats["removed" if policy == "remove" else "anonymized"] += 1
        threads.add(comment.thread_id)
    for site_id, stats in per_site.items():
        record_event(site_id=site_id, action="account_deleted", actor_label=f"author:{user.id}",
                     target_user_id=user.id, details={"policy": policies[site_id], **stats})
    _wipe_identity(user)
    for thread_id in sorted(threads):
        touch_thread(thread_id)
    totals = {"anonymized": sum(s["anonymized"] for s in per_site.values()),
              "removed": sum(s["removed"] for s in per_site.values())}
    return {"deleted": True, "comments": totals}


def _apply_policy(comment: Comment, policy: str, user: User) -> None:
    comment.author_name = DELETED_NAME
    comment.ip_hash = None
    if policy != "remove" or comment.status is CommentStatus.DELETED:
        return
    comment.body_markdown = comment.body_html = comment.body_text = ""
    change_status(comment, CommentStatus.DELETED, reasons=["account_deleted"], action="delete",
                  actor_label=f"author:{user.id}")


def _wipe_identity(user: User) -> None:
    db.session.execute(delete(ReaderSession).where(ReaderSession.user_id == user.id))
    db.session.execute(update(Report).where(Report.user_id == user.id).values(ip_hash=None))
    user.display_name = DELETED_NAME
    user.email = user.password_hash = user.external_id = user.avatar_url = None
    user.sso_site_id = None
    user.email_verified = user.notify_replies = user.notify_digest = False
    user.is_active_account = False
    end_all_sessions(user)


# -- IP retention ------------------------------------------------------------------------------

def purge_ip_hashes(days: int | None = None) -> dict[str, int]:
    """Null the IP hashes of comments and reports older than the retention period."""
    days = int(current_app.config["IP_RETENTION_DAYS"] if days is None else days)
    cutoff = utcnow() - timedelta(days=days)
    counts = {}
    for name, model in (("comments", Comment), ("reports", Report)):
        result = db.session.execute(update(model).where(model.created_at < cutoff, model.ip_hash.is_not(None))
                                    .values(ip_hash=None).execution_options(synchronize_session=False))
        counts[name] = result.rowcount
    db.session.commit()
    return counts
