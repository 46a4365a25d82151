"""Moderation policy for one comment: run the rules, decide its status, and the pre-submit nudge.

Scoring happens here (inline mode) with the configured time budget; if the model is not
available the comment is held with reason ``scoring_unavailable`` rather than lost.

The nudge: when a comment would be held for toxicity, the reader is asked "are you sure?"
instead (422 ``toxicity_warning``) and may rephrase or post anyway. A signed warning token
travels with the next submission so we can record whether the reader rephrased: that is how
a publisher measures whether the nudge works. Nothing is stored when the nudge is shown.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import bindparam, func, select

from discuss.errors import ApiError
from discuss.extensions import db
from discuss.models import AuthorKind, Ban, Comment, CommentStatus, Site, Thread, User, utcnow
from discuss.models.queries import thread_closed
from discuss.moderation.rules import RULES, Outcome, Rule, RuleContext, ThreadOpenRule, ToxicityRule, Verdict, run_rules
from discuss.scoring import ScorerState, ScoringUnavailable
from discuss.scoring.runtime import get_scoring

SCORING_UNAVAILABLE = "scoring_unavailable"
SCORING_QUEUED = "scoring_queued"
AWAITING_SCORE_REASONS = (SCORING_UNAVAILABLE, SCORING_QUEUED)


@dataclass
class Decision:
    status: CommentStatus
    reasons: list[str]
    scores: dict[str, float] | None
    details: dict[str, Any] = field(default_factory=dict)
    toxicity_labels: list[str] = field(default_factory=list)


class ScoreSource:
    """How this run gets scores: inline from the model, deferred to the queue, or given."""

    def __init__(self, mode: str, precomputed: dict[str, float] | None = None):
        self.mode = mode  # "inline" | "queue" | "given"
        self.precomputed = precomputed
        self.error: str | None = None

    def __call__(self, text: str) -> dict[str, float] | None:
        if self.mode == "given":
            return self.precomputed
        if self.mode == "queue":
            self.error = SCORING_QUEUED
            return None
        scoring = get_scoring()
        if scoring.state is ScorerState.DISABLED:
            self.error = "scoring_disabled"
            return None
        try:
            return scoring.score(text, timeout_s=current_app.config["SCORING_TIMEOUT_MS"] / 1000)
        except ScoringUnavailable as exc:
            current_app.logger.warning("scoring unavailable (%s); comment held", exc.reason)
            self.error = SCORING_UNAVAILABLE
            return None


def is_banned(site_id: int, user_id: int | None) -> bool:
    if user_id is None:
        return False
    now = utcnow()
    # Ban.active_at is the one definition of an active ban (the dashboard uses it too).
    bans = db.session.scalars(select(Ban).where(Ban.site_id == site_id, Ban.user_id == user_id))
    return any(ban.active_at(now) for ban in bans)


# Built once: every post asks (a prebuilt statement skips rebuilding it; issue 19).
_IP_BANS = select(Ban).where(Ban.site_id == bindparam("site_id"), Ban.ip_hash == bindparam("ip_hash"))


def is_ip_banned(site_id: int, ip_hash: str | None) -> bool:
    """Whether a ban on this site still covers this IP hash (see Ban.ip_hash)."""
    if not ip_hash:
        return False
    now = utcnow()
    bans = db.session.scalars(_IP_BANS, {"site_id": site_id, "ip_hash": ip_hash})
    return any(ban.active_at(now) and ban.ip_until is not None and ban.ip_until > now for ban in bans)


def approved_count(site_id: int, user_id: int | None) -> int:
    if user_id is None:
        return 0
    return db.session.scalar(
        select(func.count(Comment.id)).join(Thread, Thread.id == Comment.thread_id)
        .where(Thread.site_id == site_id, Comment.author_id == user_id,
               Comment.status == CommentStatus.PUBLISHED)) or 0


def decide(*, settings: dict[str, Any], thread: Thread, author: User, text: str, html: str,
           source: ScoreSource, enforce_open: bool = True,
           on_outcome: Callable[[Rule, Outcome], None] | None = None, ip_hash: str | None = None) -> Decision:
    """Run the registered rules. Raises nothing itself; a refusal comes back as a REFUSE verdict."""
    ctx = RuleContext(
        settings=settings, text=text, html=html,
        thread_closed=thread_closed(thread, settings), thread_premoderated=thread.is_premoderated,
        author_id=author.id, author_banned=is_banned(thread.site_id, author.id), now=utcnow(),
        ip_banned=author.kind is AuthorKind.GUEST and is_ip_banned(thread.site_id, ip_hash),
        approved_count=lambda: approved_count(thread.site_id, author.id),
        score_provider=lambda: _score_and_note_error(ctx, source, text),
    )
    rules = RULES if enforce_open else [r for r in RULES if r is not ThreadOpenRule]
    result = run_rules(ctx, rules, on_outcome)
    scores = ctx.scores if ctx._scored else None
    labels = list(result.details.get("labels", []))
    if result.verdict is Verdict.REFUSE:
        return Decision(CommentStatus.REJECTED, result.reasons, scores, {"refused": True, **result.details})
    if result.verdict is Verdict.REJECT:
        return Decision(CommentStatus.REJECTED, result.reasons, scores, result.details, labels)
    if result.verdict is Verdict.HOLD:
        return Decision(CommentStatus.PENDING, result.reasons, scores, result.details, labels)
    return Decision(CommentStatus.PUBLISHED, [], scores, result.details, labels)


def _score_and_note_error(ctx: RuleContext, source: ScoreSource, text: str) -> dict[str, float] | None:
    scores = source(text)
    ctx.scoring_error = source.error
    return scores


def awaits_score(reasons: list[str] | None) -> bool:
    return any(r in AWAITING_SCORE_REASONS for r in reasons or [])


def needs_scoring(comment: Comment) -> bool:
    return (comment.status is CommentStatus.PENDING and not comment.moderator_decided
            and awaits_score(comment.reasons))


# -- the pre-submit nudge ------------------------------------------------------------------------

NUDGE_SALT = "discuss.nudge"
WARNING_TOKEN_MAX_AGE = 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=NUDGE_SALT)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class ToxicityWarning(ApiError):
    def __init__(self, labels: list[str], token: str):
        super().__init__("toxicity_warning",
                         "This comment may come across as hurtful. Would you like to rephrase it before posting?",
                         422, extra={"labels": labels, "warning_token": token})


def nudge_hook(settings: dict[str, Any], site: Site, thread: Thread, acknowledged: bool,
         text: str) -> Callable[[Rule, Outcome], None] | None:
    if not settings.get("toxicity_nudge", True) or acknowledged:
        return None

    def on_outcome(rule: Rule, outcome: Outcome) -> None:
        if isinstance(rule, ToxicityRule) and outcome.verdict is Verdict.HOLD and outcome.details.get("labels"):
            token = _serializer().dumps({"s": site.id, "a": thread.article_id, "h": _digest(text)})
            raise ToxicityWarning(list(outcome.details["labels"]), token)

    return on_outcome


def previous_warning(token: str | None, site_id: int, article_id: str, text: str) -> tuple[bool, bool]:
    """(was warned, rephrased since): from the token the widget sends back after a nudge."""
    if not token:
        return False, False
    try:
        payload = _serializer().loads(token, max_age=WARNING_TOKEN_MAX_AGE)
    except BadSignature:
        return False, False
    if not isinstance(payload, dict) or payload.get("s") != site_id or payload.get("a") != article_id:
        return False, False
    return True, payload.get("h") != _digest(text)
