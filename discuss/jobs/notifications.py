"""Reply notifications, the moderators' pending-queue digest, verification mail, unsubscribe links.

``notify_reply_published(comment_id)`` is the hook for "a reply became visible": call it after
the commit that published a comment, from any path (post, edit, approval, rescoring). It is
cheap when there is nothing to send, and a reply is announced at most once (SentNotification).
"""
from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from flask import current_app
from flask_babel import lazy_gettext, lazy_ngettext

from discuss.errors import ApiError
from discuss.extensions import db
from discuss.identity.readers import verification_token
from discuss.jobs import mail
from discuss.jobs.runner import Job, run_later
from discuss.models import Comment, CommentStatus, Role, SentNotification, Site, Thread, User
from discuss.models.links import permalink

UNSUBSCRIBE_SALT = "discuss.unsubscribe"
KIND_REPLY = "reply"
LISTS = {"replies": "notify_replies", "digest": "notify_digest"}
EXCERPT_CHARS = 600


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- unsubscribe -------------------------------------------------------------------------------

def _unsubscribe_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(base_url: str, user: User, list_name: str) -> str:
    # Not time-limited: an unsubscribe link in an old email must keep working.
    token = _unsubscribe_serializer().dumps({"u": user.id, "l": list_name})
    return f"{base_url}/api/v1/unsubscribe?token={token}"


def unsubscribe(token: str) -> tuple[User, str]:
    """Turn off the list named in a signed link; idempotent."""
    try:
        payload = _unsubscribe_serializer().loads(token or "")
    except BadSignature:
        raise ApiError("invalid_link", "This unsubscribe link is not valid.", 400) from None
    user = db.session.get(User, payload.get("u")) if isinstance(payload, dict) else None
    list_name = payload.get("l") if isinstance(payload, dict) else None
    if user is None or list_name not in LISTS:
        raise ApiError("invalid_link", "This unsubscribe link is not valid.", 400)
    setattr(user, LISTS[list_name], False)
    db.session.commit()
    return user, list_name


# -- reply notifications -----------------------------------------------------------------------

def _send_later(job: Job, *args) -> str:
    """Mail goes out on the job runner, never inside the request; "off" when MAIL_ENABLED is off."""
    if not current_app.config.get("MAIL_ENABLED", True):
        return "off"
    return run_later(job, *args)


def announce_if_published_reply(comment) -> None:
    """Call after commit from any path that may have published a reply (post, approve, rescore)."""
    if comment.status is CommentStatus.PUBLISHED and comment.parent_id is not None:
        notify_reply_published(comment.id)


def notify_reply_published(comment_id: int) -> bool:
    """Hook: call after committing a comment that is now published. True if a mail was dispatched."""
    comment = db.session.get(Comment, comment_id)
    if comment is None or _recipient(comment) is None:
        return False
    base_url = mail.public_url()
    if base_url is None:
        current_app.logger.warning("reply notification not sent: %s", mail.NO_PUBLIC_URL)
        return False
    _send_later(send_reply_notification, comment_id, base_url)
    return True


def _recipient(reply: Comment) -> User | None:
    if reply.status is not CommentStatus.PUBLISHED or reply.parent_id is None:
        return None
    parent = db.session.get(Comment, reply.parent_id)
    if parent is None or parent.status is CommentStatus.DELETED:
        return None
    user = parent.author
    eligible = (user is not None and user.id != reply.author_id and user.is_active_account
                and user.notify_replies and user.email and user.email_verified)
    if not eligible or _already_sent(reply.id, user.id):
        return None
    return user


def _already_sent(comment_id: int, user_id: int) -> bool:
    return db.session.scalar(select(SentNotification.id).where(
        SentNotification.kind == KIND_REPLY, SentNotification.comment_id == comment_id,
        SentNotification.user_id == user_id)) is not None


def _claim(comment_id: int, user_id: int) -> bool:
    """Record the send first: at most one mail per reply even if two jobs race."""
    try:
        with db.session.begin_nested():
            db.session.add(SentNotification(kind=KIND_REPLY, comment_id=comment_id, user_id=user_id))
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
        return False


def send_reply_notification(comment_id: int, base_url: str) -> bool:
    """Job: email the parent's author about this reply, if they still want it."""
    reply = db.session.get(Comment, comment_id)
    recipient = _recipient(reply) if reply is not None else None
    if recipient is None or not _claim(comment_id, recipient.id):
        return False
    parent = db.session.get(Comment, reply.parent_id)
    thread = reply.thread
    context = {"recipient_name": recipient.display_name, "replier_name": reply.author_name,
               "reply_text": _excerpt(reply.body_text), "parent_text": _excerpt(parent.body_text, 200),
               "thread_title": thread.title or thread.article_id, "thread_url": thread.url,
               "comment_url": permalink(thread.url, reply.id, site=thread.site.slug, article=thread.article_id,
                                        base_url=base_url),
               "site_name": thread.site.name}
    mail.send(mail.Mail(to=recipient.email, subject=lazy_gettext("%(name)s replied to your comment", name=reply.author_name),
                        template="reply", context=context, language=mail.mail_language(recipient, thread.site),
                        unsubscribe_url=unsubscribe_url(base_url, recipient, "replies")))
    return True


# -- email verification ------------------------------------------------------------------------

def request_verification(user: User) -> bool:
    if not user.email or user.email_verified:
        return False
    base_url = mail.public_url()
    if base_url is None:
        current_app.logger.warning("verification email not sent: %s", mail.NO_PUBLIC_URL)
        return False
    _send_later(send_verification, user.id, base_url)
    return True


def send_verification(user_id: int, base_url: str) -> bool:
    user = db.session.get(User, user_id)
    if user is None or not user.email or user.email_verified:
        return False
    link = f"{base_url}/api/v1/auth/verify?token={verification_token(user)}"
    hours = int(current_app.config["EMAIL_VERIFY_MAX_AGE_HOURS"])
    mail.send(mail.Mail(to=user.email, subject=lazy_gettext("Confirm your email address"), template="verify",
                        context={"name": user.display_name, "link": link, "hours": hours},
                        language=mail.mail_language(user, db.session.get(Site, user.sso_site_id) if user.sso_site_id else None)))
    return True


# -- moderator digest --------------------------------------------------------------------------

def digest_recipients() -> list[User]:
    return list(db.session.scalars(select(User).where(
        User.notify_digest.is_(True), User.is_active_account.is_(True), User.email.is_not(None),
        User.role.in_([Role.MODERATOR, Role.ADMIN])).order_by(User.id)))


def _pending_for(user: User, limit: int) -> tuple[list[dict], int]:
    query = select(Site)
    if user.role != Role.ADMIN:
        query = query.where(Site.id.in_(user.moderated_site_ids or [-1]))
    sites = {site.id: site for site in db.session.scalars(query)}
    pending = (Comment.status == CommentStatus.PENDING, Thread.site_id.in_(list(sites) or [-1]))
    total = db.session.scalar(select(func.count(Comment.id)).join(Thread).where(*pending)) or 0
    rows = db.session.execute(select(Comment, Thread).join(Thread).where(*pending)
                              .order_by(Comment.created_at).limit(limit)).all()
    items = [{"site": sites[t.site_id].name, "thread": t.title or t.article_id, "author": c.author_name,
              "text": _excerpt(c.body_text, 200), "reasons": ", ".join(c.reasons or [])} for c, t in rows]
    return items, total


def send_digests(base_url: str | None = None) -> dict[str, int]:
    """Email each opted-in moderator their pending queue; nothing is sent for an empty queue."""
    base_url = base_url or mail.public_url()
    counts = {"sent": 0, "empty": 0, "failed": 0}
    if base_url is None:
        current_app.logger.error("digest not sent: %s", mail.NO_PUBLIC_URL)
        counts["failed"] = len(digest_recipients())
        return counts
    for user in digest_recipients():
        items, total = _pending_for(user, int(current_app.config["DIGEST_MAX_ITEMS"]))
        if not total:
            counts["empty"] += 1
            continue
        context = {"name": user.display_name, "items": items, "total": total,
                   "queue_url": f"{base_url}/mod/queue/pending"}
        try:
            mail.send(mail.Mail(to=user.email, subject=lazy_ngettext("%(num)d comment awaiting review",
                                                                     "%(num)d comments awaiting review", total),
                                template="digest", context=context, language=mail.mail_language(user),
                                unsubscribe_url=unsubscribe_url(base_url, user, "digest")))
            counts["sent"] += 1
        except OSError as exc:
            current_app.logger.error("digest to user %s failed: %s", user.id, exc)
            counts["failed"] += 1
    return counts
