"""Everything a moderator sees about a queue item, loaded for a whole page in a few queries."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from discuss.extensions import db
from discuss.models import AuthorKind, Ban, Comment, CommentStatus, ModerationEvent, Report, Site, Thread, User, utcnow
from discuss.scoring.base import CORE_LABELS


@dataclass
class ScoreBar:
    label: str
    value: float
    hold_at: float | None
    reject_at: float | None

    @property
    def percent(self) -> int:
        return max(0, min(100, round(self.value * 100)))

    @property
    def width_class(self) -> str:
        return f"w-{5 * round(self.percent / 5)}"

    @property
    def level(self) -> str:
        if self.reject_at is not None and self.value >= self.reject_at:
            return "reject"
        if self.hold_at is not None and self.value >= self.hold_at:
            return "hold"
        return "warn" if self.value >= 0.5 else "ok"


@dataclass
class AuthorHistory:
    user: User
    published: int = 0
    rejected: int = 0
    pending: int = 0
    active_bans: list[Ban] = field(default_factory=list)

    @property
    def account_age_days(self) -> int:
        return max(0, (utcnow() - self.user.created_at).days)

    @property
    def age_label(self) -> str:
        """How long the author has had an account ("12d account"); a guest has none, so "guest"."""
        if self.user.kind == AuthorKind.GUEST:
            return "guest"
        return f"{self.account_age_days}d account"


@dataclass
class QueueItem:
    comment: Comment
    thread: Thread
    site: Site
    parent: Comment | None
    author: AuthorHistory
    scores: list[ScoreBar]
    events: list[ModerationEvent]
    reports: list[Report]

    @property
    def top_score(self) -> float:
        return max((bar.value for bar in self.scores), default=0.0)


def score_bars(scores: dict[str, float] | None, settings: dict[str, Any]) -> list[ScoreBar]:
    """Every label the model returned, core labels first, highest first within each group."""
    hold = settings.get("hold_thresholds") or {}
    reject = settings.get("reject_thresholds") or {}
    bars = [ScoreBar(label, float(value), hold.get(label), reject.get(label))
            for label, value in (scores or {}).items() if isinstance(value, (int, float))]
    return sorted(bars, key=lambda b: (b.label not in CORE_LABELS, -b.value, b.label))


def build_items(comments: list[Comment], *, with_reports: bool = True) -> list[QueueItem]:
    if not comments:
        return []
    threads = {c.thread_id: c.thread for c in comments}
    sites = _sites_for(threads.values())
    settings = {site_id: site.effective_settings() for site_id, site in sites.items()}
    parents = _parents(comments)
    authors = _author_histories(comments, threads)
    events = _events(comments)
    reports = _reports(comments) if with_reports else {}
    items = []
    for comment in comments:
        thread = threads[comment.thread_id]
        items.append(QueueItem(
            comment=comment, thread=thread, site=sites[thread.site_id],
            parent=parents.get(comment.parent_id) if comment.parent_id else None,
            author=authors[(comment.author_id, thread.site_id)],
            scores=score_bars(comment.scores, settings[thread.site_id]),
            events=events.get(comment.id, []), reports=reports.get(comment.id, [])))
    return items


def _sites_for(threads) -> dict[int, Site]:
    site_ids = {t.site_id for t in threads}
    return {s.id: s for s in db.session.scalars(select(Site).where(Site.id.in_(site_ids)))}


def _parents(comments: list[Comment]) -> dict[int, Comment]:
    parent_ids = {c.parent_id for c in comments if c.parent_id}
    if not parent_ids:
        return {}
    return {c.id: c for c in db.session.scalars(select(Comment).where(Comment.id.in_(parent_ids)))}


def _author_histories(comments: list[Comment], threads: dict[int, Thread]) -> dict[tuple[int, int], AuthorHistory]:
    author_ids = {c.author_id for c in comments}
    site_ids = {t.site_id for t in threads.values()}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(author_ids)))}
    histories = {(c.author_id, threads[c.thread_id].site_id): AuthorHistory(users[c.author_id]) for c in comments}
    rows = db.session.execute(
        select(Comment.author_id, Thread.site_id, Comment.status, func.count(Comment.id))
        .join(Thread, Thread.id == Comment.thread_id)
        .where(Comment.author_id.in_(author_ids), Thread.site_id.in_(site_ids))
        .group_by(Comment.author_id, Thread.site_id, Comment.status))
    for author_id, site_id, status, count in rows:
        history = histories.get((author_id, site_id))
        if history is not None and status != CommentStatus.DELETED:
            setattr(history, status.value, count)
    now = utcnow()
    for ban in db.session.scalars(select(Ban).where(Ban.user_id.in_(author_ids), Ban.site_id.in_(site_ids))):
        history = histories.get((ban.user_id, ban.site_id))
        if history is not None and ban.active_at(now):
            history.active_bans.append(ban)
    return histories


def _events(comments: list[Comment]) -> dict[int, list[ModerationEvent]]:
    grouped: dict[int, list[ModerationEvent]] = defaultdict(list)
    query = (select(ModerationEvent).options(selectinload(ModerationEvent.actor))
             .where(ModerationEvent.comment_id.in_([c.id for c in comments]))
             .order_by(ModerationEvent.created_at, ModerationEvent.id))
    for event in db.session.scalars(query):
        grouped[event.comment_id].append(event)
    return grouped


def _reports(comments: list[Comment]) -> dict[int, list[Report]]:
    reported = [c.id for c in comments if c.report_count]
    grouped: dict[int, list[Report]] = defaultdict(list)
    if not reported:
        return grouped
    query = (select(Report).where(Report.comment_id.in_(reported), Report.resolved_at.is_(None))
             .order_by(Report.created_at))
    for report in db.session.scalars(query):
        grouped[report.comment_id].append(report)
    return grouped


def actor_name(event: ModerationEvent) -> str:
    if event.actor is not None:
        return event.actor.display_name or event.actor.email or event.actor_label
    return event.actor_label


def when(moment: datetime | None) -> str:
    """Compact relative time for dense lists: 'now', '5m', '3h', '2d', or a date."""
    if moment is None:
        return ""
    seconds = (utcnow() - moment).total_seconds()
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    if seconds < 86400 * 30:
        return f"{int(seconds // 86400)}d"
    return moment.strftime("%Y-%m-%d")


def comment_json(item: QueueItem, *, detail: bool = False) -> dict[str, Any]:
    """The API's view of a queue item: the same facts the dashboard shows."""
    c, history = item.comment, item.author
    data: dict[str, Any] = {
        "id": c.id, "status": c.status.value, "html": c.body_html, "text": c.body_text,
        "created_at": c.created_at.isoformat(), "reasons": list(c.reasons or []), "scores": c.scores or {},
        "report_count": c.report_count, "is_featured": c.is_featured, "moderator_decided": c.moderator_decided,
        "site": item.site.slug,
        "thread": {"id": item.thread.id, "article_id": item.thread.article_id, "title": item.thread.title,
                   "url": item.thread.url, "is_closed": item.thread.is_closed,
                   "is_premoderated": item.thread.is_premoderated},
        "parent": ({"id": item.parent.id, "author_name": item.parent.author_name, "html": item.parent.body_html,
                    "status": item.parent.status.value} if item.parent else None),
        "author": {"id": history.user.id, "name": c.author_name, "kind": history.user.kind.value,
                   "account_age_days": history.account_age_days, "published": history.published,
                   "rejected": history.rejected, "pending": history.pending,
                   "active_bans": [{"id": b.id, "until": b.until.isoformat() if b.until else None,
                                    "reason": b.reason} for b in history.active_bans]},
        "reports": [{"reason": r.reason.value, "note": r.note, "created_at": r.created_at.isoformat()}
                    for r in item.reports],
    }
    if detail:
        data["history"] = [event_json(e) for e in item.events]
    return data


def event_json(event: ModerationEvent) -> dict[str, Any]:
    return {"id": event.id, "action": event.action, "actor": actor_name(event), "actor_label": event.actor_label,
            "actor_id": event.actor_id, "comment_id": event.comment_id, "thread_id": event.thread_id,
            "target_user_id": event.target_user_id, "from_status": event.from_status,
            "to_status": event.to_status, "reasons": list(event.reasons or []), "note": event.note,
            "details": event.details, "undo_of_id": event.undo_of_id,
            "created_at": event.created_at.isoformat()}
