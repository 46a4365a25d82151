"""Privacy requests handled by an operator (``flask discuss privacy export|delete``), for
readers who cannot sign in: a guest who left an email, or anyone the operator can name.

A request names a user id or an email. An email matches every reader identity with that
address (case-insensitive): a guest who commented from several devices has several. Both
commands reuse the readers' own export and deletion (so each site's deletion policy applies)
and are audited on every site the reader's data touches.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from discuss.comments.privacy import delete_account, export_data
from discuss.errors import ApiError, NotFound
from discuss.extensions import db
from discuss.models import Comment, Report, Thread, User, Vote, utcnow, iso
from discuss.moderation.audit import record_event

ACTOR = "operator:cli"


def find_readers(who: str) -> list[User]:
    who = (who or "").strip()
    if who.isdigit():
        user = db.session.get(User, int(who))
        users = [user] if user is not None else []
    elif "@" in who:
        users = list(db.session.scalars(select(User).where(func.lower(User.email) == who.lower()).order_by(User.id)))
    else:
        raise ApiError("validation_failed", "Give an email address or a numeric user id.", 422)
    if not users:
        raise NotFound("reader")
    if any(user.is_staff for user in users):
        raise ApiError("staff_account", "That is a staff account; staff are managed by an administrator.", 403)
    return users


def _site_ids(user: User) -> set[int]:
    comment_sites = select(Thread.site_id).join(Comment, Comment.thread_id == Thread.id).where(Comment.author_id == user.id)
    vote_sites = (select(Thread.site_id).join(Comment, Comment.thread_id == Thread.id)
                  .join(Vote, Vote.comment_id == Comment.id).where(Vote.user_id == user.id))
    report_sites = (select(Thread.site_id).join(Comment, Comment.thread_id == Thread.id)
                    .join(Report, Report.comment_id == Comment.id).where(Report.user_id == user.id))
    ids = set(db.session.scalars(comment_sites.union(vote_sites, report_sites)))
    if user.sso_site_id:
        ids.add(user.sso_site_id)
    return ids


def _audit(user: User, action: str, details: dict[str, Any]) -> None:
    for site_id in sorted(_site_ids(user)):
        record_event(site_id=site_id, action=action, actor_label=ACTOR, target_user_id=user.id, details=details)


def export_for_operator(who: str) -> dict[str, Any]:
    users = find_readers(who)
    readers = [export_data(user) for user in users]
    for user in users:
        _audit(user, "privacy_export", {"request": "operator"})
    db.session.commit()
    return {"exported_at": iso(utcnow()), "request": who, "identities": readers}


def delete_for_operator(who: str) -> dict[str, Any]:
    users = find_readers(who)
    results = []
    for user in users:
        # Audited before the identity is wiped (the audit names the user id only, never the email).
        _audit(user, "privacy_delete", {"request": "operator"})
        results.append({"user_id": user.id, **delete_account(user)})
    return {"request": who, "deleted": results}
