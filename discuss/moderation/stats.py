"""Queue health for one site: what the pipeline and the moderators did, day by day.

Everything is computed from the audit trail (one ModerationEvent per decision), the reports
and the nudge warnings. The queries fetch plain rows; the arithmetic is in pure functions
(``summarize``, ``nudge_funnel``, ``percentile``) so tests can check exact counts.

Definitions (shown on the stats page too):
- an automatic outcome is the pipeline's decision when a comment is posted, edited or rescored,
  plus automatic holds by the reports threshold;
- a moderator outcome is an approve/restore, reject or remove by staff or a site token; undone
  decisions and the undo rows themselves are left out;
- time to decision runs from the moment a comment entered the pending queue to the
  moderator's decision on it;
- a nudge is "abandoned" when the warned reader posted nothing in that thread within
  ``ABANDON_MINUTES`` (moderation/funnel.py).

A day that is over is computed once and stored (``StatsDay``, one row per site and day): only the
days still open are read from the audit trail on each page (30 days took 926 ms at a million
comments; issue 19). Stored decision times keep three significant digits.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, NamedTuple

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.exc import IntegrityError

from discuss.errors import ValidationFailed
from discuss.locales import N_
from discuss.extensions import db
from discuss.models import (Comment, CommentStatus, ModerationEvent, QueueTotal, Report, Site, StatsDay, Thread,
                            utcnow)
from discuss.models.totals import stored_total
from discuss.moderation.funnel import ABANDON_MINUTES, funnel_rows, nudge_funnel
from discuss.moderation.undo import undone_ids as undone_among

MAX_DAYS = 365
ONE_DAY = timedelta(days=1)
AUTO_ACTIONS = ("create", "edit", "rescore")
REPORTS_HOLD_ACTION = "hold"
MODERATOR_OUTCOMES = {"approve": "approved", "restore": "approved", "reject": "rejected", "remove": "removed"}
TOP_REASONS = 10


class EventRow(NamedTuple):  # a tuple: one per audit row of the open days, thousands a page
    id: int
    comment_id: int | None
    action: str
    actor_label: str
    to_status: str | None
    from_status: str | None
    reasons: tuple[str, ...]
    created_at: datetime
    by_staff: bool


@dataclass
class DayRow:
    day: date
    published_auto: int = 0
    held_auto: dict[str, int] = field(default_factory=dict)
    rejected_auto: int = 0
    approved: int = 0
    rejected: int = 0
    removed: int = 0
    reports: int = 0

    @property
    def held_auto_total(self) -> int:
        return sum(self.held_auto.values())

    def as_json(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "published_auto": self.published_auto,
                "held_auto": dict(sorted(self.held_auto.items())), "held_auto_total": self.held_auto_total,
                "rejected_auto": self.rejected_auto, "approved": self.approved, "rejected": self.rejected,
                "removed": self.removed, "reports": self.reports}


def parse_days(raw: Any, default: int = 30) -> int:
    if raw in (None, ""):
        return default
    try:
        days = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed({"days": N_("a whole number of days from 1 to %(num)s", num=MAX_DAYS)}) from None
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed({"days": N_("a whole number of days from 1 to %(num)s", num=MAX_DAYS)})
    return days


def window(days: int, now: datetime) -> tuple[datetime, datetime]:
    """[start of the first day, now): ``days`` calendar days in UTC, today included."""
    return midnight(now.date()) - timedelta(days=days - 1), now


def midnight(day: date) -> datetime:
    """The start of a UTC calendar day."""
    return datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc)


def percentile(values: list[float] | Counter, p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100): the smallest value with at least p% at or below it.
    ``values`` is a list or a Counter of value -> how many times (stored days keep those)."""
    counts = values if isinstance(values, Counter) else Counter(values)
    total = sum(counts.values())
    if not total:
        return None
    rank, seen = max(1, math.ceil(p / 100 * total)), 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return None  # not reached: the counts add up to total


def three_digits(seconds: float) -> float:
    """A decision time as a stored day keeps it: whole seconds, three significant digits above 999."""
    whole = round(seconds)
    return float(round(whole, 3 - len(str(abs(whole)))) if abs(whole) > 999 else whole)


def summarize(events: list[EventRow], report_times: list[datetime], since: datetime, days: int,
              undone_ids: set[int], published_per_day: dict[date, int] | None = None
              ) -> tuple[list[DayRow], Counter, list[float]]:
    """Per-day outcomes, top reasons and decision times (seconds) from audit rows in time order.
    ``published_per_day`` adds automatic publications counted elsewhere (in SQL: most rows are those)."""
    rows = {since.date() + timedelta(days=i): DayRow(since.date() + timedelta(days=i)) for i in range(days)}
    for day, count in (published_per_day or {}).items():
        if day in rows:
            rows[day].published_auto += count
    reasons: Counter = Counter()
    entered_queue: dict[int, datetime] = {}
    decision_seconds: list[float] = []
    for event in sorted(events, key=lambda e: (e.created_at, e.id)):
        if event.to_status == CommentStatus.PENDING.value and event.comment_id is not None:
            entered_queue[event.comment_id] = event.created_at
        if event.id in undone_ids or event.action == "undo":
            continue
        row = rows.get(event.created_at.date())
        if row is None:
            continue
        automatic = (event.actor_label == "pipeline" and event.action in AUTO_ACTIONS) or (
            event.action == REPORTS_HOLD_ACTION and event.actor_label.startswith("rule:"))
        if automatic:
            _count_automatic(row, event, reasons)
        elif event.by_staff and event.action in MODERATOR_OUTCOMES:
            outcome = MODERATOR_OUTCOMES[event.action]
            setattr(row, outcome, getattr(row, outcome) + 1)
            queued_at = entered_queue.get(event.comment_id) if event.comment_id else None
            if event.from_status == CommentStatus.PENDING.value and queued_at is not None:
                decision_seconds.append((event.created_at - queued_at).total_seconds())
    for moment in report_times:
        row = rows.get(moment.date())
        if row is not None:
            row.reports += 1
    return [rows[d] for d in sorted(rows)], reasons, decision_seconds


def _count_automatic(row: DayRow, event: EventRow, reasons: Counter) -> None:
    codes = [r for r in event.reasons if r != "nudge:acknowledged"]
    if event.to_status == CommentStatus.PUBLISHED.value:
        row.published_auto += 1
    elif event.to_status == CommentStatus.PENDING.value:
        primary = codes[0] if codes else "unknown"
        row.held_auto[primary] = row.held_auto.get(primary, 0) + 1
        reasons.update(codes or ["unknown"])
    elif event.to_status == CommentStatus.REJECTED.value:
        row.rejected_auto += 1
        reasons.update(codes or ["unknown"])


# -- queries ---------------------------------------------------------------------------------------

def _day(moment):
    """The UTC calendar day of a timestamp column, in SQL."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", moment))
    return func.date(moment)  # SQLite stores UTC text


def _auto_published(since: datetime, until: datetime):
    E = ModerationEvent
    return and_(E.actor_label == "pipeline", E.action.in_(AUTO_ACTIONS),
                E.to_status == CommentStatus.PUBLISHED.value, E.created_at >= since, E.created_at < until)


def _published_per_day(site_id: int, since: datetime, until: datetime) -> dict[date, int]:
    """Automatic publications per day, counted in the database (they are most of the audit rows)."""
    E = ModerationEvent
    day = _day(E.created_at)
    rows = db.session.execute(select(day, func.count()).where(E.site_id == site_id, _auto_published(since, until))
                              .group_by(day))
    return {value if isinstance(value, date) else date.fromisoformat(str(value)): int(n) for value, n in rows}


def _event_rows(site_id: int, since: datetime, until: datetime) -> tuple[list[EventRow], set[int]]:
    """The other audit rows ``summarize`` counts, reasons (JSON) read only where it counts them, and
    the rows that put each decided comment in the queue, whenever that was (its time to decision)."""
    E = ModerationEvent
    needs_reasons = or_(E.to_status.in_([CommentStatus.PENDING.value, CommentStatus.REJECTED.value]),
                        E.action == REPORTS_HOLD_ACTION)
    relevant = or_(E.action.in_(AUTO_ACTIONS + (REPORTS_HOLD_ACTION, "undo") + tuple(MODERATOR_OUTCOMES)),
                   E.to_status == CommentStatus.PENDING.value)
    columns = (E.id, E.comment_id, E.action, E.actor_label, E.to_status, E.from_status, E.created_at, E.actor_id)
    query = (select(*columns, case((needs_reasons, E.reasons), else_=None).label("reasons"))
             .where(E.site_id == site_id, E.created_at >= since, E.created_at < until, relevant,
                    ~_auto_published(since, until)))
    rows = {r.id: _event_row(r) for r in db.session.execute(query)}
    decisions = [r for r in rows.values() if r.by_staff and r.action in MODERATOR_OUTCOMES]
    # When each decided comment entered the queue: by comment id (a day's decisions are a few hundred
    # comments), not by reading every queue entry of the month before (as each stored day would).
    waited = sorted({r.comment_id for r in decisions if r.comment_id and r.from_status == CommentStatus.PENDING.value})
    for chunk in range(0, len(waited), 1000):
        entries = select(*columns, literal(None).label("reasons")).where(
            E.comment_id.in_(waited[chunk:chunk + 1000]), E.to_status == CommentStatus.PENDING.value,
            E.created_at < since)
        rows.update((r.id, _event_row(r)) for r in db.session.execute(entries))
    # Only staff decisions can be undone; one undone after the window is left out too.
    return list(rows.values()), undone_among([r.id for r in decisions])


def _event_row(r) -> EventRow:
    """A row of ``columns`` (and reasons last) as an EventRow, unpacked by position (fast for thousands)."""
    event_id, comment_id, action, label, to_status, from_status, created_at, actor_id, reasons = r
    return EventRow(event_id, comment_id, action, label, to_status, from_status, tuple(reasons or ()), created_at,
                    actor_id is not None or label.startswith("api:"))


def _report_times(site_id: int, since: datetime, until: datetime) -> list[datetime]:
    return list(db.session.scalars(
        select(Report.created_at).join(Comment, Comment.id == Report.comment_id)
        .join(Thread, Thread.id == Comment.thread_id)
        .where(Thread.site_id == site_id, Report.created_at >= since, Report.created_at < until)))


def pending_queue(site_id: int, now: datetime) -> dict[str, Any]:
    """The site's pending queue: its stored size (queue_total) and its oldest entry, the first of the
    site's comments on ix_comment_pending_since (counting the queue took 405 ms at 1M; issue 19)."""
    size = db.session.scalar(stored_total(CommentStatus.PENDING).where(QueueTotal.site_id == site_id))
    oldest = db.session.scalar(
        select(Comment.status_changed_at).join(Thread, Thread.id == Comment.thread_id)
        .where(Thread.site_id == site_id, Comment.status == CommentStatus.PENDING)
        .order_by(Comment.status_changed_at).limit(1))
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=timezone.utc)
    return {"size": int(size or 0),
            "oldest_age_seconds": int((now - oldest).total_seconds()) if oldest is not None else None}


@dataclass
class Figures:
    """What ``queue_health`` adds up over a window: per-day rows, reasons, decision times, funnel."""
    days: dict[date, DayRow]
    reasons: Counter = field(default_factory=Counter)
    seconds: Counter = field(default_factory=Counter)  # decision time in seconds -> decisions
    funnel: Counter = field(default_factory=Counter)

    def add(self, other: "Figures") -> None:
        for day, row in other.days.items():
            mine = self.days.setdefault(day, DayRow(day))
            for key in COUNTED:
                setattr(mine, key, getattr(mine, key) + getattr(row, key))
            mine.held_auto = dict(Counter(mine.held_auto) + Counter(row.held_auto))
        self.reasons += other.reasons
        self.seconds.update(other.seconds)
        self.funnel.update(other.funnel)

    def stored(self) -> dict[str, Any]:
        """One day's figures as ``StatsDay.figures`` keeps them."""
        (row,) = self.days.values()
        return {"row": row.as_json(), "reasons": dict(self.reasons), "funnel": dict(self.funnel),
                "seconds": sorted(Counter(three_digits(s) for s in self.seconds.elements()).items())}

    @classmethod
    def from_stored(cls, day: date, figures: dict[str, Any]) -> "Figures":
        row = DayRow(day, held_auto=dict(figures["row"]["held_auto"]),
                     **{key: figures["row"][key] for key in COUNTED})
        return cls({day: row}, Counter(figures["reasons"]), Counter(dict((v, n) for v, n in figures["seconds"])),
                   Counter(figures["funnel"]))


COUNTED = ("published_auto", "rejected_auto", "approved", "rejected", "removed", "reports")


def measure(site_id: int, since: datetime, until: datetime, abandon_minutes: int = ABANDON_MINUTES) -> Figures:
    """The figures of [since, until), ``since`` at midnight UTC, read from the audit trail."""
    days = -(-(until - since) // ONE_DAY)
    events, undone = _event_rows(site_id, since, until)
    day_rows, reasons, seconds = summarize(events, _report_times(site_id, since, until), since, days, undone,
                                           _published_per_day(site_id, since, until))
    funnel = nudge_funnel(*funnel_rows(site_id, since, until, abandon_minutes), abandon_minutes)
    return Figures({r.day: r for r in day_rows}, reasons, Counter(seconds), Counter(funnel))


def window_figures(site_id: int, since: datetime, until: datetime,
                   abandon_minutes: int = ABANDON_MINUTES) -> Figures:
    """Stored days where the window has them (computing and storing missing ones), the open days live.

    A day is closed once it and the funnel's wait after it are over, by the clock as well as by
    ``until`` (a report asked about the past must not store a day still being written)."""
    settled = min(until, utcnow()) - timedelta(minutes=abandon_minutes)
    first_open = max(since, midnight(settled.date()))
    if abandon_minutes != ABANDON_MINUTES:  # stored days wait ABANDON_MINUTES: another wait reads it all
        first_open = since
    closed = [since.date() + i * ONE_DAY for i in range((first_open - since) // ONE_DAY)]
    stored = {row.day: row.figures for row in db.session.scalars(
        select(StatsDay).where(StatsDay.site_id == site_id, StatsDay.day.in_(closed)))} if closed else {}
    figures, missing = Figures({}), {day for day in closed if day not in stored}
    for day in closed:
        if day in missing:
            stored[day] = measure(site_id, midnight(day), midnight(day) + ONE_DAY).stored()
            db.session.add(StatsDay(site_id=site_id, day=day, figures=stored[day]))
        figures.add(Figures.from_stored(day, stored[day]))
    if first_open < until:
        figures.add(measure(site_id, first_open, until, abandon_minutes))
    if missing:
        _keep_new_days()
    return figures


def _keep_new_days() -> None:
    """Commit the days just computed; another request storing the same day first is fine."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def queue_health(site: Site, days: int, now: datetime | None = None,
                 abandon_minutes: int = ABANDON_MINUTES) -> dict[str, Any]:
    """The stats page and ``GET /api/v1/moderation/sites/SLUG/stats`` in one JSON-ready dict."""
    now = now or utcnow()
    since, until = window(days, now)
    slug, site_id = site.slug, site.id
    figures = window_figures(site_id, since, until, abandon_minutes)
    day_rows = [figures.days.get(since.date() + i * ONE_DAY) or DayRow(since.date() + i * ONE_DAY)
                for i in range(days)]
    totals = {key: sum(getattr(r, key) for r in day_rows) for key in COUNTED}
    totals["held_auto"] = sum(r.held_auto_total for r in day_rows)
    return {
        "site": slug, "days": days, "since": since.isoformat(), "until": until.isoformat(),
        "per_day": [r.as_json() for r in day_rows], "totals": totals,
        "pending": pending_queue(site_id, now),
        "time_to_decision": {"decisions": sum(figures.seconds.values()),
                             "p50_seconds": percentile(figures.seconds, 50),
                             "p90_seconds": percentile(figures.seconds, 90)},
        "top_reasons": [{"reason": r, "count": n} for r, n in figures.reasons.most_common(TOP_REASONS)],
        "nudge_funnel": {**{k: figures.funnel[k] for k in ("warned", "rephrased", "posted_anyway", "abandoned")},
                         "abandon_minutes": abandon_minutes},
    }
