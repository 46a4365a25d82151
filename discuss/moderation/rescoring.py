"""Scoring comments that were stored before they could be scored, and routing them by the rules.

Used by ``flask discuss rescore``, automatically when the model becomes ready, and by the
queue worker. Moderator decisions are never touched, and a comment is routed once: it is
re-checked under a row lock, so two rescoring runs cannot both route it.
"""
from __future__ import annotations

import threading
from datetime import datetime

from flask import Flask
from sqlalchemy import inspect, select, update
from sqlalchemy.exc import OperationalError

from discuss.extensions import db
from discuss.jobs import webhooks
from discuss.jobs.notifications import announce_if_published_reply
from discuss.models import Comment, CommentStatus, utcnow
from discuss.models.queries import touch_thread
from discuss.moderation.audit import record_event
from discuss.moderation.policy import (SCORING_QUEUED, SCORING_UNAVAILABLE, ScoreSource, awaits_score, decide,
                                       needs_scoring)
from discuss.scoring import ScorerState, ScoringUnavailable
from discuss.scoring.runtime import get_scoring


def awaiting_ids(limit: int = 500, waiting_since: datetime | None = None) -> list[int]:
    # Only the reason codes are needed to pick comments; bodies are loaded per batch later.
    query = (select(Comment.id, Comment.reasons)
             .where(Comment.status == CommentStatus.PENDING, Comment.moderator_decided.is_(False))
             .order_by(Comment.id))
    if waiting_since is not None:  # the sweeper leaves fresh comments to the job or post in flight
        query = query.where(Comment.status_changed_at <= waiting_since)
    rows = db.session.execute(query)
    return [comment_id for comment_id, reasons in rows if awaits_score(reasons)][:limit]


def rescore_pending(batch_size: int = 16, waiting_since: datetime | None = None) -> dict[str, int]:
    """Score every comment waiting for a score (since before ``waiting_since``, if given).
    Returns counts by resulting status."""
    outcome = {"published": 0, "pending": 0, "rejected": 0, "skipped": 0, "failed": 0}
    ids = awaiting_ids(limit=100_000, waiting_since=waiting_since)
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        texts = {c.id: c.body_text for c in db.session.scalars(select(Comment).where(Comment.id.in_(chunk)))}
        try:
            scores = get_scoring().score_many([texts[i] for i in chunk if i in texts])
        except ScoringUnavailable:
            outcome["failed"] += len(chunk)
            continue
        for comment_id, comment_scores in zip([i for i in chunk if i in texts], scores):
            result = route_scored(comment_id, comment_scores)
            outcome[result] += 1
    return outcome


def route_scored(comment_id: int, scores: dict[str, float]) -> str:
    """Apply the rules with these scores to one waiting comment; commit. Returns the new status."""
    try:
        return _route_scored(comment_id, scores)
    except OperationalError:  # another process routed it first (SQLite refuses the stale write)
        db.session.rollback()
        return "skipped"


def _route_scored(comment_id: int, scores: dict[str, float]) -> str:
    comment = db.session.scalar(select(Comment).where(Comment.id == comment_id).with_for_update())
    if comment is None or not needs_scoring(comment) or not _claim(comment):
        db.session.rollback()
        return "skipped"
    site = comment.thread.site
    decision = decide(settings=site.effective_settings(), thread=comment.thread, author=comment.author,
                      text=comment.body_text, html=comment.body_html,
                      source=ScoreSource("given", scores), enforce_open=False)
    kept = [r for r in comment.reasons if r not in (SCORING_UNAVAILABLE, SCORING_QUEUED)
            and not r.startswith(("toxicity:", "premoderation:", "links:", "suspect_word"))]
    from_status = comment.status
    comment.scores = scores
    comment.set_status(decision.status, decision.reasons + [r for r in kept if r not in decision.reasons])
    record_event(site_id=site.id, action="rescore", actor_label="pipeline", comment=comment,
                 from_status=from_status, to_status=comment.status, reasons=comment.reasons,
                 details={"scores": scores})
    touch_thread(comment.thread_id)
    db.session.commit()
    announce_if_published_reply(comment)
    webhooks.announce(comment)
    return comment.status.value


def _claim(comment: Comment) -> bool:
    """Take the comment for this transaction: only one of several concurrent runs wins.

    SQLite ignores FOR UPDATE, so the first write is a compare-and-set on status_changed_at;
    a second process blocks on the write lock and then updates no row.
    """
    claimed = db.session.execute(
        update(Comment).where(Comment.id == comment.id, Comment.status == CommentStatus.PENDING,
                              Comment.status_changed_at == comment.status_changed_at)
        .values(status_changed_at=utcnow()).execution_options(synchronize_session=False))
    return claimed.rowcount == 1


def score_and_route(comment_id: int) -> str:
    """The queue worker's job: score one comment with this process's model and route it."""
    comment = db.session.get(Comment, comment_id)
    if comment is None or not needs_scoring(comment):
        return "skipped"
    scores = get_scoring().score_many([comment.body_text])[0]
    return route_scored(comment_id, scores)


def install_auto_rescore(app: Flask) -> None:
    """Once this process's model is ready, route every comment that waited for it."""
    def _rescore() -> None:
        with app.app_context():
            try:
                if not inspect(db.engine).has_table(Comment.__tablename__):
                    # e.g. `flask discuss model check` before the first `flask db upgrade`: nothing can wait
                    app.logger.warning("automatic rescoring skipped: the database has no tables yet "
                                       "(run `flask --app wsgi db upgrade`)")
                    return
                result = rescore_pending()
                app.logger.info("rescored comments held while the model loaded: %s", result)
            except Exception:  # never crash the loader thread; the CLI can retry
                app.logger.exception("automatic rescoring failed")
            finally:
                db.session.remove()

    scoring = get_scoring(app)
    scoring.add_ready_callback(_rescore)
    if scoring.state is ScorerState.READY:  # loaded before we subscribed; rescoring is idempotent
        threading.Thread(target=_rescore, name="discuss-rescore", daemon=True).start()
