"""Posting, editing and deleting comments. Owns the transaction; never touches the request."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from discuss.errors import ApiError, Forbidden, NotFound, ValidationFailed
from discuss.extensions import db
from discuss.identity.staff import staff_name_taken
from discuss.identity.tokens import issue_author_token
from discuss.models import AuthorKind, Comment, CommentStatus, ModerationEvent, Site, Thread, User, utcnow
from discuss.models.rows import insert_row
from discuss.sanitize import clean_html_to_text, normalize_name, normalize_text, render_markdown, thread_title
from discuss.moderation.audit import new_event, record_event
from discuss.models.queries import count_new_comment, find_thread, require_site, touch_thread
from discuss.jobs import webhooks
from discuss.jobs.notifications import announce_if_published_reply
from discuss.jobs.runner import enqueue
from discuss.comments import proof_of_work
from discuss.moderation.nudges import record_warning
from discuss.moderation.policy import (SCORING_QUEUED, Decision, ScoreSource, ToxicityWarning, decide,
                                      nudge_hook, previous_warning)
from discuss.moderation.feedback import rejection_answer
from discuss.moderation.rescoring import score_and_route
from discuss.comments.serializers import author_comment, viewer_summary


@dataclass
class NewComment:
    site: str
    article: str
    body: str
    article_url: str | None = None
    article_title: str | None = None
    parent_id: int | None = None
    author_name: str | None = None
    author_email: str | None = None
    honeypot: str | None = None
    acknowledge_warning: bool = False
    warning_token: str | None = None
    ip_hash: str | None = None
    viewer: User | None = None
    proof: str | None = None  # the ALTCHA payload, when the site asks for proof of work


@dataclass
class PostResult:
    """What the author is answered, built from the objects in hand (no read after the commit).

    Nothing here touches the database after the commit: if the connection drops right after a
    comment is stored, the author still gets 201/202 with its id (a re-read would have turned a
    stored comment into a 500, and the author's retry into a duplicate)."""
    comment_id: int
    status: CommentStatus
    comment: dict[str, Any]     # the author's view of the comment (serializers.author_comment)
    viewer: dict[str, Any]      # serializers.viewer_summary of the author
    author_kind: AuthorKind
    author_token: str
    rejection: dict[str, Any] | None = None  # message (and reasons) when the comment was rejected

    @property
    def published(self) -> bool:
        return self.status is CommentStatus.PUBLISHED


def clean_body(body: str) -> tuple[str, str, str]:
    """Returns (markdown, html, text) or raises a validation error naming the body."""
    markdown = normalize_text(body)
    limit = current_app.config["MAX_BODY_CHARS"]
    if not markdown:
        raise ValidationFailed({"body": "must not be empty"})
    if len(markdown) > limit:
        raise ValidationFailed({"body": f"must be at most {limit:,} characters"})
    html = render_markdown(markdown)
    text = clean_html_to_text(html)  # render_markdown cleaned it already: no second parse (issue 19)
    if not text:
        raise ValidationFailed({"body": "must contain some text"})
    return markdown, html, text


def post_comment(data: NewComment, site: Site | None = None) -> PostResult:
    """``site``: the site named by ``data.site`` when the caller has already loaded it."""
    site = site if site is not None and site.slug == data.site else require_site(data.site)
    if data.honeypot:
        raise ApiError("rejected_as_spam", "This comment looks automated and was not posted.", 400)
    settings = site.effective_settings()
    markdown, html, text = clean_body(data.body)
    author, new_guest = _resolve_author(data, site, settings)
    proof_of_work.check(settings, author, data.proof)
    url, title = _article_url(site, data.article_url), thread_title(data.article_title)
    thread = find_thread(site.id, data.article) or Thread(site_id=site.id, article_id=data.article, url=url,
                                                          title=title)
    parent = _resolve_parent(thread, data.parent_id, settings["max_depth"], author)
    _refuse_duplicate(thread, author, data, markdown)

    warned, rephrased = previous_warning(data.warning_token, site.id, data.article, text)
    on_outcome = nudge_hook(settings, site, thread, data.acknowledge_warning, text)
    try:
        decision = decide(settings=settings, thread=thread, author=author, text=text, html=html,
                          source=ScoreSource(current_app.config["SCORING"]), on_outcome=on_outcome,
                          ip_hash=data.ip_hash)
    except ToxicityWarning as warning:
        # The start of the nudge funnel (stats): who was warned where, nothing of the text.
        record_warning(site.id, data.article, author.id, data.ip_hash, warning.extra.get("labels", []))
        raise
    if decision.details.get("refused"):
        _refuse(decision)
    if data.acknowledge_warning and decision.toxicity_labels and decision.status is CommentStatus.PENDING:
        warned = True
        decision.reasons.append("nudge:acknowledged")

    thread = _persist_thread(thread)
    if new_guest:
        insert_row(author)
    comment = insert_row(Comment(
        thread_id=thread.id, parent_id=parent.id if parent else None, root_id=parent.root_id if parent else None,
        depth=_depth(parent), author_id=author.id, author_name=author.display_name, body_markdown=markdown,
        body_html=html, body_text=text, status=decision.status, reasons=decision.reasons, scores=decision.scores,
        ip_hash=data.ip_hash, warned=warned, rephrased_after_warning=rephrased))
    if parent is None:  # a top-level comment is its own root: its id is known only now
        db.session.connection().execute(_SET_OWN_ROOT, {"comment_id": comment.id})
        comment.root_id = comment.id
    comment.thread, comment.author = thread, author
    change = insert_row(new_event(**_audit_fields(site, comment, decision, action="create")))
    count_new_comment(thread.id, published=comment.status is CommentStatus.PUBLISHED)
    return _commit_and_answer(comment, author, site, settings, change)


def edit_comment(comment_id: int, viewer: User | None, body: str) -> PostResult:
    comment = _own_comment_in_window(comment_id, viewer)
    markdown, html, text = clean_body(body)
    site = comment.thread.site
    decision = decide(settings=site.effective_settings(), thread=comment.thread, author=comment.author,
                      text=text, html=html, source=ScoreSource(current_app.config["SCORING"]),
                      ip_hash=comment.ip_hash)
    if decision.details.get("refused"):
        _refuse(decision)
    from_status = comment.status
    comment.body_markdown, comment.body_html, comment.body_text = markdown, html, text
    comment.edited_at = utcnow()
    comment.scores = decision.scores
    comment.moderator_decided = False  # new text, new decision
    comment.set_status(decision.status, decision.reasons)
    record_event(**_audit_fields(site, comment, decision, action="edit", from_status=from_status))
    touch_thread(comment.thread_id, expire_everything=False)
    return _commit_and_answer(comment, comment.author, site, site.effective_settings())


def delete_comment(comment_id: int, viewer: User | None) -> Comment:
    comment = _own_comment_in_window(comment_id, viewer)
    from_status = comment.status
    # The reader asked for their words to go: keep the row (replies keep their place) but not the text.
    comment.body_markdown = comment.body_html = comment.body_text = ""
    comment.set_status(CommentStatus.DELETED, ["deleted_by_author"])
    record_event(site_id=comment.thread.site_id, action="delete", actor_label=f"author:{viewer.id}",
                 comment=comment, from_status=from_status, to_status=CommentStatus.DELETED,
                 reasons=["deleted_by_author"])
    touch_thread(comment.thread_id)
    db.session.commit()
    webhooks.announce(comment)
    return comment


def _resolve_author(data: NewComment, site: Site, settings: dict) -> tuple[User, bool]:
    allowed = set(settings.get("allowed_identities") or [])
    viewer = data.viewer
    if viewer is not None and viewer.kind is not AuthorKind.GUEST:
        if viewer.kind.value not in allowed:
            raise Forbidden("This site does not accept comments from this kind of account.", "identity_not_allowed")
        if viewer.kind is AuthorKind.SSO and viewer.sso_site_id != site.id:
            raise Forbidden("This sign-in belongs to another site.", "identity_not_allowed")
        return viewer, False
    if "guest" not in allowed:
        raise ApiError("sign_in_required", "Please sign in to comment on this site.", 401)
    name = normalize_name(data.author_name or (viewer.display_name if viewer is not None else ""))
    if not name:
        raise ValidationFailed({"author_name": "is required to post as a guest"})
    if len(name) > current_app.config["MAX_NAME_CHARS"]:
        raise ValidationFailed({"author_name": f"must be at most {current_app.config['MAX_NAME_CHARS']} characters"})
    if staff_name_taken(name, viewer.id if viewer is not None else None):
        raise ValidationFailed({"author_name": "this name belongs to a member of staff; choose another"})
    email = (data.author_email or "").strip() or None
    if settings.get("require_guest_email") and not email:
        raise ValidationFailed({"author_email": "is required on this site"})
    if viewer is not None:  # a returning guest keeps one identity across comments
        viewer.display_name = name
        viewer.email = email or viewer.email
        return viewer, False
    return User(kind=AuthorKind.GUEST, display_name=name, email=email), True


def _article_url(site: Site, url: str | None) -> str | None:
    """A new thread's link must point at the publisher's own site: one of its allowed origins.
    Otherwise anyone's first post could aim the thread (and reply emails) anywhere."""
    if not url:
        return None
    if not site.allows_article_url(url):
        raise ApiError("article_url_not_allowed", "article_url must be on one of this site's allowed origins.",
                       400, fields={"article_url": "not on one of the site's allowed origins"})
    return url


def _resolve_parent(thread: Thread, parent_id: int | None, max_depth: int, author: User) -> Comment | None:
    if parent_id is None:
        return None
    parent = db.session.get(Comment, parent_id) if thread.id else None
    visible = parent is not None and (parent.status is CommentStatus.PUBLISHED or
                                      (parent.status is CommentStatus.PENDING and parent.author_id == author.id))
    if not visible or parent.thread_id != thread.id:
        raise ValidationFailed({"parent_id": "no such comment in this thread"})
    # Replies deeper than the site allows attach to the deepest allowed ancestor.
    while parent is not None and parent.depth >= max(int(max_depth), 1):
        parent = db.session.get(Comment, parent.parent_id) if parent.parent_id else None
    return parent


def _depth(parent: Comment | None) -> int:
    return 0 if parent is None else parent.depth + 1


def _refuse_duplicate(thread: Thread, author: User, data: NewComment, markdown: str) -> None:
    if not thread.id:
        return
    since = utcnow() - timedelta(seconds=current_app.config["DUPLICATE_WINDOW_SECONDS"])
    params = {"thread_id": thread.id, "body": markdown, "since": since}
    if author.id:
        existing = db.session.scalar(_SAME_AUTHOR_TEXT, params | {"author_id": author.id})
    else:
        existing = db.session.scalar(_SAME_GUEST_TEXT, params | {"ip_hash": data.ip_hash, "name": author.display_name})
    if existing is not None:
        # Most often a retry whose first answer was lost on the way: the comment is stored, and
        # the answer says which one, so the client can show it rather than an unexplained error.
        # (No author token here: matching text, name and IP hash prove no identity.)
        raise ApiError("duplicate_comment", "You already posted this comment here.", 409,
                       extra={"comment_id": existing})


# The post path's own statements, built once with bound parameters: SQLAlchemy finds them
# compiled in its cache instead of rebuilding each statement and its cache key (issue 19).
_COMMENTS = Comment.__table__
_SAME_TEXT = select(_COMMENTS.c.id).where(_COMMENTS.c.thread_id == bindparam("thread_id"),
                                         _COMMENTS.c.body_markdown == bindparam("body"),
                                         _COMMENTS.c.created_at >= bindparam("since", type_=Comment.created_at.type))
_SAME_AUTHOR_TEXT = _SAME_TEXT.where(_COMMENTS.c.author_id == bindparam("author_id")).limit(1)
_SAME_GUEST_TEXT = _SAME_TEXT.where(_COMMENTS.c.ip_hash == bindparam("ip_hash"),
                                    _COMMENTS.c.author_name == bindparam("name")).limit(1)
_SET_OWN_ROOT = update(_COMMENTS).where(_COMMENTS.c.id == bindparam("comment_id")).values(root_id=_COMMENTS.c.id)


def _persist_thread(thread: Thread) -> Thread:
    if thread.id:
        return thread
    try:
        with db.session.begin_nested():  # two first posts at once: one creates, the other reuses
            db.session.add(thread)
    except IntegrityError:
        existing = find_thread(thread.site_id, thread.article_id)
        if existing is None:
            raise
        return existing
    return thread


def _refuse(decision: Decision) -> None:
    code = decision.reasons[0] if decision.reasons else "forbidden"
    messages = {"thread_closed": "This discussion is closed to new comments.",
                "commenting_disabled": "Commenting is turned off on this site."}
    raise ApiError(code, messages.get(code, "Comments are not accepted here."), 403)


def _audit_fields(site: Site, comment: Comment, decision: Decision, *, action: str,
                  from_status: CommentStatus | None = None) -> dict[str, Any]:
    details = {key: value for key, value in decision.details.items() if key != "refused"}
    if decision.scores is not None:
        details["scores"] = decision.scores
    return dict(site_id=site.id, action=action, actor_label="pipeline", comment=comment, from_status=from_status,
                to_status=comment.status, reasons=decision.reasons, details=details or None)


def _own_comment_in_window(comment_id: int, viewer: User | None) -> Comment:
    if viewer is None:
        raise ApiError("unauthorized", "Send the author token you received when posting.", 401)
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.status in (CommentStatus.DELETED, CommentStatus.REJECTED):
        raise NotFound("comment")
    if comment.author_id != viewer.id:
        raise Forbidden("You can only change your own comments.")
    window = timedelta(minutes=int(comment.thread.site.effective_settings()["edit_window_minutes"]))
    if utcnow() - comment.created_at > window:
        raise ApiError("edit_window_expired", "The time to edit or delete this comment has passed.", 403)
    return comment


def _commit_and_answer(comment: Comment, author: User, site: Site, settings: dict[str, Any],
                       change: ModerationEvent | None = None) -> PostResult:
    """Commit, then answer from the objects in hand; the after-commit hooks run last.

    The commit leaves the objects loaded (they hold exactly what was written; a new comment's
    rows were inserted outside the session by models.rows.insert_row, and are not expired at
    all), so the answer is built after it without a single read: the write lock is held no
    longer than the writes need, and a connection lost right after the commit cannot fail the
    answer. ``change``: the audit row just written, handed to the webhooks hook."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
    result = PostResult(comment_id=comment.id, status=comment.status, comment=author_comment(comment),
                        viewer=viewer_summary(author), author_kind=author.kind,
                        author_token=issue_author_token(author),
                        rejection=(rejection_answer(settings, comment.reasons or [])
                                   if comment.status is CommentStatus.REJECTED else None))
    _AfterCommit(comment.id, comment.status, list(comment.reasons or []), comment.parent_id).run(comment, change)
    return result


@dataclass(frozen=True)
class _AfterCommit:
    """What the hooks need, copied before the commit (the commit expires the ORM objects)."""
    comment_id: int
    status: CommentStatus
    reasons: list[str]
    parent_id: int | None

    def run(self, comment: Comment, change: ModerationEvent | None) -> None:
        """In queue mode, hand the comment to a scoring worker once it is safely stored.
        A published reply tells the parent's author (if they opted in), outside the request.

        The comment is committed: a failure here (the database or Redis gone for a moment) is
        logged and must not turn the author's 201/202 into a 500. What it leaves undone waits:
        a comment that was not enqueued stays scoring_queued for the next rescore."""
        try:
            if SCORING_QUEUED in self.reasons:
                enqueue(score_and_route, self.comment_id, timeout=300, retry_after=(5, 30, 120))
            if self.status is CommentStatus.PUBLISHED and self.parent_id is not None:
                announce_if_published_reply(comment)
            webhooks.announce(comment, change=change)
        except Exception:  # noqa: BLE001 - see the docstring: the comment is stored either way
            current_app.logger.exception("after-commit hooks failed for comment %s", self.comment_id)
            try:
                db.session.rollback()
            except Exception:  # noqa: BLE001 - a dead connection; the pool replaces it
                current_app.logger.warning("rollback after failed hooks failed too", exc_info=True)
