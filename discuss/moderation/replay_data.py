"""Replay's database side and input: which comments to replay, grouped where the rules cannot
tell them apart, and the ``POST /api/v1/moderation/sites/SLUG/replay`` answer (``run_replay``).

The decision itself is ``moderation.replay`` (the real rules over stored scores).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Float, String, and_, case, cast, column, func, literal_column, or_, select, true

from discuss.errors import ValidationFailed
from discuss.locales import N_
from discuss.extensions import db
from discuss.models import Comment, CommentStatus, ModerationEvent, Site, Thread, utcnow
from discuss.models.settings import clean_settings, merged_settings
from discuss.moderation.replay import (MAX_RANGE_DAYS, MAX_SAMPLE, MOD_APPROVED, MOD_REJECTED, PIPELINE_ACTIONS,
                                       STORED_HOLD_PREFIXES, STORED_REJECT_CODES, ReplayRow, replay,
                                       stored_reasons, threshold_points, thresholds_of)

# -- queries and input ----------------------------------------------------------------------------

def parse_range(body: dict[str, Any], now: datetime | None = None) -> tuple[datetime, datetime]:
    """``from``/``to`` as YYYY-MM-DD (inclusive UTC days); default the last 30 days."""
    now = now or utcnow()
    errors: dict[str, str] = {}
    days: dict[str, date] = {}
    for key, default in (("from", (now - timedelta(days=29)).date()), ("to", now.date())):
        raw = body.get(key)
        try:
            days[key] = date.fromisoformat(raw) if raw not in (None, "") else default
        except (TypeError, ValueError):
            errors[key] = N_("a date like 2026-12-01")
    if not errors and days["from"] > days["to"]:
        errors["from"] = N_("on or before 'to'")
    if not errors and (days["to"] - days["from"]).days >= MAX_RANGE_DAYS:
        errors["to"] = N_("at most %(num)s days after 'from'", num=MAX_RANGE_DAYS)
    if errors:
        raise ValidationFailed(errors)
    start = datetime.combine(days["from"], datetime.min.time(), tzinfo=timezone.utc)
    end = datetime.combine(days["to"] + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    return start, end


def proposed_settings(site: Site, body: dict[str, Any]) -> dict[str, Any]:
    """The site's settings with the proposed thresholds overlaid (labels not named keep theirs)."""
    unknown = sorted(set(body) - {"hold_thresholds", "reject_thresholds", "from", "to", "sample",
                                  "target_recall"})
    if unknown:
        raise ValidationFailed({key: N_("unknown field") for key in unknown})
    changes = {k: body[k] for k in ("hold_thresholds", "reject_thresholds") if k in body}
    cleaned = clean_settings(changes)
    return merged_settings({**(site.settings or {}), **cleaned})


def parse_target(raw: Any, default: float = 0.9) -> float:
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1
    if isinstance(raw, bool) or not 0 < value <= 1:
        raise ValidationFailed({"target_recall": N_("a number above 0 and at most 1")})
    return value


def load_rows(site_id: int, since: datetime, until: datetime, decided_only: bool = False) -> list[ReplayRow]:
    """Scored comments posted in [since, until) on the site, with their stored reasons and verdicts.

    A moderator's decision replaced a comment's reasons, so for a decided one the pipeline's come
    from its latest automatic audit row, looked up per comment on the comment_id index (joining the
    site's audit trail read all of it: 806 ms at 1M; issue 19). ``moderator_decided = true`` (not
    ``IS true``) lets PostgreSQL use the partial index ix_comment_decided_created."""
    pipeline = (select(ModerationEvent.reasons).where(ModerationEvent.comment_id == Comment.id,
                                                      ModerationEvent.actor_label == "pipeline",
                                                      ModerationEvent.action.in_(PIPELINE_ACTIONS))
                .order_by(ModerationEvent.id.desc()).limit(1).scalar_subquery())
    decided = Comment.moderator_decided == true()
    query = (select(Comment.id, Comment.scores, Comment.status, Comment.moderator_decided,
                    case((decided, pipeline), else_=Comment.reasons).label("reasons"))  # one JSON read a row
             .join(Thread, Thread.id == Comment.thread_id)
             .where(Thread.site_id == site_id, Comment.created_at >= since, Comment.created_at < until,
                    Comment.scores.is_not(None), Comment.status != CommentStatus.DELETED))
    if decided_only:
        query = query.where(decided)
    rows = []
    verdicts = {CommentStatus.REJECTED: MOD_REJECTED, CommentStatus.PUBLISHED: MOD_APPROVED}
    for cid, scores, status, moderator_decided, reasons in db.session.execute(query):
        if not isinstance(scores, dict) or not scores:
            continue
        rows.append(ReplayRow(cid, scores, stored_reasons(reasons or ()),
                              verdicts.get(status) if moderator_decided else None))
    rows.sort(key=lambda r: r.comment_id)
    return rows


def sample_details(ids: list[int], length: int = 160) -> dict[int, tuple[dict[str, float], str]]:
    """The scores and the first characters of the text of the sample's comments."""
    if not ids:
        return {}
    return {cid: (scores or {}, (text or "")[:length]) for cid, scores, text in
            db.session.execute(select(Comment.id, Comment.scores, Comment.body_text).where(Comment.id.in_(ids)))}


def _grouped(site_id: int, since: datetime, until: datetime, points: dict[str, list[float]]):
    """Scored comments keyed by, per label, the highest threshold their score reaches (0 if none),
    their stored reasons (two flags) and the moderator's verdict, packed into one integer: comments
    with the same key meet exactly the same thresholds and rules, so the rules decide them alike.
    Each comment's scores and reasons are read once, in an inner query kept apart (OFFSET 0)."""
    labels = list(points)
    record = None
    if labels and db.session.get_bind().dialect.name == "postgresql":
        # json_to_record parses each comment's scores once (4x faster than one ->> per label).
        objects_only = case((func.json_typeof(Comment.scores) == "object", Comment.scores),
                            else_=literal_column("'{}'::json"))  # a JSON null (never scored) reads as {}
        record = (func.json_to_record(objects_only)
                  .table_valued(*[column(label, Float) for label in labels])
                  .render_derived(name="score_record", with_types=True))
        values = [record.c[label] for label in labels]
    else:
        values = [Comment.scores[label].as_float() for label in labels]
    # A moderator's decision replaced the comment's reasons: read the pipeline's from its audit row.
    pipeline = (select(ModerationEvent.reasons).where(ModerationEvent.comment_id == Comment.id,
                                                      ModerationEvent.actor_label == "pipeline",
                                                      ModerationEvent.action.in_(PIPELINE_ACTIONS))
                .order_by(ModerationEvent.id.desc()).limit(1).scalar_subquery())
    reasons = case((Comment.moderator_decided.is_(True), cast(pipeline, String)), else_=cast(Comment.reasons, String))
    verdict = case((and_(Comment.moderator_decided.is_(True), Comment.status == CommentStatus.REJECTED), 1),
                   (and_(Comment.moderator_decided.is_(True), Comment.status == CommentStatus.PUBLISHED), 2),
                   else_=0)
    scored = or_(*[value.is_not(None) for value in values]) if labels else Comment.scores.is_not(None)
    inner = select(Comment.id.label("id"), *[v.label(f"s{i}") for i, v in enumerate(values)],
                   reasons.label("rt"), verdict.label("v")).select_from(Comment)
    if record is not None:
        inner = inner.join(record, true())
    inner = (inner.join(Thread, Thread.id == Comment.thread_id)
             .where(Thread.site_id == site_id, Comment.created_at >= since, Comment.created_at < until,
                    Comment.status != CommentStatus.DELETED, scored)
             .offset(0).subquery())
    key, multiplier = literal_column("0"), 1
    for i, label in enumerate(labels):  # index 0 below every threshold, len(points) at the highest
        ts = points[label]
        reached = case(*[(inner.c[f"s{i}"] >= t, len(ts) - k) for k, t in enumerate(ts)], else_=0)
        key, multiplier = key + reached * multiplier, multiplier * (len(ts) + 1)
    reject = case((or_(*[inner.c.rt.like(f'%"{code}"%') for code in STORED_REJECT_CODES]), 1), else_=0)
    hold = case((or_(*[inner.c.rt.like(f'%"{prefix}%') for prefix in STORED_HOLD_PREFIXES]), 1), else_=0)
    key = key + reject * multiplier + hold * (2 * multiplier) + inner.c.v * (4 * multiplier)
    return inner, key, multiplier


def _decode(key: int, points: dict[str, list[float]]) -> tuple[dict[str, float], tuple, str | None]:
    """A group key back to representative scores (the thresholds reached), stored reasons, verdict."""
    scores = {}
    for label, ts in points.items():
        key, index = divmod(key, len(ts) + 1)
        scores[label] = ts[len(ts) - index] if index else 0.0
    key, reject = divmod(key, 2)
    verdict, hold = divmod(key, 2)
    stored = (("banned_word",) if reject else ()) + (("suspect_word",) if hold else ())
    return scores, stored, {1: MOD_REJECTED, 2: MOD_APPROVED}.get(verdict)


def groups_query(site_id: int, since: datetime, until: datetime, points: dict[str, list[float]]):
    inner, key, _ = _grouped(site_id, since, until, points)
    grouped = select(key.label("k"), inner.c.id).subquery()
    return (select(grouped.c.k, func.count().label("n"), func.min(grouped.c.id), func.max(grouped.c.id))
            .group_by(grouped.c.k))


def load_groups(site_id: int, since: datetime, until: datetime, points: dict[str, list[float]]) -> list[ReplayRow]:
    """Every scored comment in the range, as groups the rules cannot tell apart (see ``_grouped``)."""
    groups = []
    for k, n, first, last in db.session.execute(groups_query(site_id, since, until, points)):
        scores, stored, verdict = _decode(int(k), points)
        groups.append(ReplayRow(None, scores, stored, verdict, int(n), ids=tuple(dict.fromkeys((first, last)))))
    return groups


def run_replay(site: Site, body: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """``POST /api/v1/moderation/sites/SLUG/replay``: the answer as a JSON-ready dict.

    The rules run once per group of comments they cannot tell apart (``load_groups``), so the work
    in Python does not grow with the number of comments."""
    proposed = proposed_settings(site, body)
    since, until = parse_range(body, now)
    sample = body.get("sample", 20)
    if isinstance(sample, bool) or not isinstance(sample, int) or not 0 <= sample <= MAX_SAMPLE:
        raise ValidationFailed({"sample": N_("a whole number from 0 to %(num)s", num=MAX_SAMPLE)})
    current = site.effective_settings()
    points = threshold_points(current, proposed)
    answer = replay(load_groups(site.id, since, until, points), current, proposed, sample_size=sample).as_json()
    found = sample_details([s["id"] for s in answer["sample"]])
    for item in answer["sample"]:
        item["scores"], item["excerpt"] = found.get(item["id"], ({}, ""))
    return {"site": site.slug, "from": since.date().isoformat(), "to": (until - timedelta(days=1)).date().isoformat(),
            "current": thresholds_of(current), "proposed": thresholds_of(proposed), **answer}
