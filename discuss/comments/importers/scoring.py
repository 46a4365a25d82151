"""Scoring an imported archive in bulk (``import --score``), and optionally routing it by the
site's rules (``--route``).

Scoring only stores scores: the imported status stays, so a moderator can sort the archive by
toxicity. Routing runs the site's rules with those scores over comments imported as published
or pending, and may only hold or reject: it never publishes what the source held, and never
touches a comment a moderator has decided on since.
"""
from __future__ import annotations

from typing import Callable

from flask import current_app
from sqlalchemy import select

from discuss.extensions import db
from discuss.jobs.runner import enqueue
from discuss.models import Comment, CommentStatus
from discuss.models.queries import touch_thread
from discuss.moderation.audit import change_status
from discuss.moderation.policy import ScoreSource, decide
from discuss.scoring.runtime import get_scoring

SCORE_BATCH = 32
QUEUE_CHUNK = 500
ROUTE_REASON = "imported_routed"


def queue_scoring(comment_ids: list[int], route: bool) -> int:
    """DISCUSS_SCORING=queue: hand the archive to the workers in chunks. Returns chunks queued."""
    queued = 0
    for start in range(0, len(comment_ids), QUEUE_CHUNK):
        if enqueue(score_imported, comment_ids[start:start + QUEUE_CHUNK], route, timeout=3600):
            queued += 1
    return queued


def uses_queue() -> bool:
    return current_app.config.get("SCORING") == "queue"


def score_imported(comment_ids: list[int], route: bool = False,
                   on_progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Score these comments in batches (one commit per batch); with ``route``, apply the rules."""
    outcome = {"scored": 0, "held": 0, "rejected": 0, "skipped": 0}
    scoring = get_scoring()
    for start in range(0, len(comment_ids), SCORE_BATCH):
        chunk = comment_ids[start:start + SCORE_BATCH]
        comments = [c for c in db.session.scalars(select(Comment).where(Comment.id.in_(chunk)).order_by(Comment.id))
                    if c.status is not CommentStatus.DELETED and c.body_text]
        outcome["skipped"] += len(chunk) - len(comments)
        if comments:
            scores = scoring.score_many([c.body_text for c in comments])
            touched: set[int] = set()
            for comment, comment_scores in zip(comments, scores):
                comment.scores = comment_scores
                outcome["scored"] += 1
                if route and _route(comment, comment_scores, outcome):
                    touched.add(comment.thread_id)
            for thread_id in sorted(touched):
                touch_thread(thread_id)
            db.session.commit()
        if on_progress is not None:
            on_progress(len(chunk))
    return outcome


def _route(comment: Comment, scores: dict[str, float], outcome: dict[str, int]) -> bool:
    if comment.moderator_decided or comment.status not in (CommentStatus.PUBLISHED, CommentStatus.PENDING):
        return False
    thread = comment.thread
    decision = decide(settings=thread.site.effective_settings(), thread=thread, author=comment.author,
                      text=comment.body_text, html=comment.body_html, source=ScoreSource("given", scores),
                      enforce_open=False)
    stricter = decision.status is CommentStatus.REJECTED or (
        decision.status is CommentStatus.PENDING and comment.status is CommentStatus.PUBLISHED)
    if not stricter:
        return False
    change_status(comment, decision.status, reasons=[*decision.reasons, ROUTE_REASON], action="route_imported",
                  actor_label="pipeline", details={"scores": scores})
    outcome["rejected" if decision.status is CommentStatus.REJECTED else "held"] += 1
    return True
