"""Replay's database side and input: which comments to replay, grouped where the rules cannot
tell them apart, and the ``POST /api/v1/moderation/sites/SLUG/replay`` answer (``run_replay``).

The decision itself is ``moderation.replay`` (the real rules over stored scores).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Float, String, and_, case, cast, column, func, literal_column, or_, select, true

from discuss.errors import ValidationFailed
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
            errors[key] = "a date like 2026-12-01"
    if not errors and days["from"] > days["to"]:
        errors["from"] = "on or before 'to'"
    if not errors and (days["to"] - days["from"]).days >= MAX_RANGE_DAYS:
        errors["to"] = f"at most {MAX_RANGE_DAYS} days after 'from'"
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
        raise ValidationFailed({key: "unknown field" for key in unknown})
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
        raise ValidationFailed({"target_recall": "a number above 0 and at most 1"})
    return value


def load_rows(site_id: int, since: datetime, until: datetime, decided_only: bool = False) -> list[ReplayRow]:
    """Scored comments posted in [since, until) on the site, with their stored reasons and verdicts."""
    query = (select(Comment.id, Comment.scores, Comment.status, Comment.reasons, Comment.moderator_decided)
             .join(Thread, Thread.id == Comment.thread_id)
             .where(Thread.site_id == site_id, Comment.created_at >= since, Comment.created_at < until,
                    Comment.scores.is_not(None), Comment.status != CommentStatus.DELETED))
    if decided_only:
        query = query.where(Comment.moderator_decided.is_(True))
    rows, decided = [], []
    for cid, scores, status, reasons, moderator_decided in db.session.execute(query):
        if not isinstance(scores, dict) or not scores:
            continue
        if moderator_decided:
            decided.append((cid, scores, status))
        else:
            rows.append(ReplayRow(cid, scores, stored_reasons(reasons)))
    pipeline = _pipeline_reasons(site_id, since, until) if decided else {}
    for cid, scores, status in decided:
        verdict = {CommentStatus.REJECTED: MOD_REJECTED, CommentStatus.PUBLISHED: MOD_APPROVED}.get(status)
        rows.append(ReplayRow(cid, scores, stored_reasons(pipeline.get(cid, ())), verdict))
    rows.sort(key=lambda r: r.comment_id)
    return rows


def _pipeline_reasons(site_id: int, since: datetime, until: datetime) -> dict[int, list[str]]:
    """The latest automatic decision's reasons for each moderator-decided comment in the range."""
    query = (select(ModerationEvent.comment_id, ModerationEvent.reasons)
             .join(Comment, Comment.id == ModerationEvent.comment_id)
             .where(ModerationEvent.site_id == site_id, ModerationEvent.actor_label == "pipeline",
                    ModerationEvent.action.in_(PIPELINE_ACTIONS), Comment.moderator_decided.is_(True),
                    Comment.created_at >= since, Comment.created_at < until)
             .order_by(ModerationEvent.id))
    return {cid: list(reasons or []) for cid, reasons in db.session.execute(query)}


def comment_excerpts(ids: list[int], length: int = 160) -> dict[int, str]:
    if not ids:
        return {}
    return {cid: (text or "")[:length] for cid, text in
            db.session.execute(select(Comment.id, Comment.body_text).where(Comment.id.in_(ids)))}


def _grouped(site_id: int, since: datetime, until: datetime, points: dict[str, list[float]]):
    """Undecided scored comments with, per label, the highest threshold their score reaches (0 if
    none): two comments with the same such values meet exactly the same thresholds, so the rules
    decide them alike. Each label is read from the JSON once, in an inner query kept apart."""
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
    scores = [value.label(f"s{i}") for i, value in enumerate(values)]
    reasons = cast(Comment.reasons, String)
    reject = case((or_(*[reasons.like(f'%"{code}"%') for code in STORED_REJECT_CODES]), 1), else_=0)
    hold = case((or_(*[reasons.like(f'%"{prefix}%') for prefix in STORED_HOLD_PREFIXES]), 1), else_=0)
    scored = or_(*[value.is_not(None) for value in values]) if labels else Comment.scores.is_not(None)
    inner = select(Comment.id.label("id"), *scores, reject.label("r"), hold.label("h")).select_from(Comment)
    if record is not None:
        inner = inner.join(record, true())
    inner = (inner.join(Thread, Thread.id == Comment.thread_id)
             .where(Thread.site_id == site_id, Comment.created_at >= since, Comment.created_at < until,
                    Comment.moderator_decided.is_(False), Comment.status != CommentStatus.DELETED, scored)
             .offset(0).subquery())  # OFFSET 0: the planner may not inline it and re-read the JSON per threshold
    reached = [case(*[(inner.c[f"s{i}"] >= t, t) for t in points[label]], else_=0.0).label(f"p{i}")
               for i, label in enumerate(labels)]
    return inner, reached, labels


def load_groups(site_id: int, since: datetime, until: datetime, points: dict[str, list[float]]) -> list[ReplayRow]:
    inner, reached, labels = _grouped(site_id, since, until, points)
    query = (select(*reached, inner.c.r, inner.c.h, func.count().label("n"))
             .group_by(*reached, inner.c.r, inner.c.h))
    groups = []
    for row in db.session.execute(query):
        values = tuple(row[: len(labels)])
        stored = (("banned_word",) if row.r else ()) + (("suspect_word",) if row.h else ())
        groups.append(ReplayRow(None, dict(zip(labels, values)), stored, None, int(row.n),
                                key=values + (int(row.r), int(row.h))))
    return groups


def group_sample(site_id: int, since: datetime, until: datetime, points: dict[str, list[float]],
                 changed: list[tuple[ReplayRow, str, str]], limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` comments from the groups that change outcome, oldest id first."""
    if not changed or limit <= 0:
        return []
    inner, reached, labels = _grouped(site_id, since, until, points)
    keyed = select(inner.c.id, *reached, inner.c.r, inner.c.h).subquery()
    columns = [keyed.c[f"p{i}"] for i in range(len(labels))] + [keyed.c.r, keyed.c.h]
    by_key = {row.key: (before, after) for row, before, after in changed}
    query = (select(keyed.c.id, *columns)
             .where(or_(*[and_(*[c == v for c, v in zip(columns, key)]) for key in by_key]))
             .order_by(keyed.c.id).limit(limit))
    out = []
    for row in db.session.execute(query):
        key = tuple(row[1: len(labels) + 1]) + (int(row.r), int(row.h))
        before, after = by_key[key]
        out.append({"id": row.id, "before": before, "after": after, "moderator": None,
                    "scores": dict(zip(labels, key[: len(labels)]))})
    return out


def run_replay(site: Site, body: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """``POST /api/v1/moderation/sites/SLUG/replay``: the answer as a JSON-ready dict.

    Comments a moderator decided are replayed one by one (their verdicts matter); the others in
    groups that reach the same thresholds (``load_groups``), so the work in Python does not grow
    with the number of comments."""
    proposed = proposed_settings(site, body)
    since, until = parse_range(body, now)
    sample = body.get("sample", 20)
    if isinstance(sample, bool) or not isinstance(sample, int) or not 0 <= sample <= MAX_SAMPLE:
        raise ValidationFailed({"sample": f"a whole number from 0 to {MAX_SAMPLE}"})
    current = site.effective_settings()
    points = threshold_points(current, proposed)
    rows = load_rows(site.id, since, until, decided_only=True) + load_groups(site.id, since, until, points)
    result = replay(rows, current, proposed, sample_size=sample)
    answer = result.as_json()
    answer["sample"] += group_sample(site.id, since, until, points, result.changed_groups,
                                     sample - len(answer["sample"]))
    answer["sample"].sort(key=lambda item: item["id"])
    excerpts = comment_excerpts([s["id"] for s in answer["sample"]])
    for item in answer["sample"]:
        item["excerpt"] = excerpts.get(item["id"], "")
    return {"site": site.slug, "from": since.date().isoformat(), "to": (until - timedelta(days=1)).date().isoformat(),
            "current": thresholds_of(current), "proposed": thresholds_of(proposed), **answer}
