"""The nudge funnel: what each warned reader did next (rephrased, posted anyway, or abandoned).

A warning is "abandoned" when the warned reader posted nothing in that thread within
``ABANDON_MINUTES``; otherwise the first comment after the warning decides. ``nudge_funnel`` is
pure; ``funnel_rows`` reads the warnings and the warned readers' comments.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import aliased

from discuss.extensions import db
from discuss.models import Comment, NudgeWarning, Thread

ABANDON_MINUTES = 30


@dataclass(frozen=True)
class WarningRow:
    id: int
    article_id: str
    author_id: int | None
    ip_hash: str | None
    created_at: datetime


@dataclass(frozen=True)
class FollowUp:
    article_id: str
    author_id: int | None
    ip_hash: str | None
    created_at: datetime
    rephrased: bool


def nudge_funnel(warnings: list[WarningRow], comments: list[FollowUp],
                 abandon_minutes: int = ABANDON_MINUTES) -> dict[str, int]:
    """Each warning ends as rephrased, posted anyway, or abandoned (nothing posted by that reader in
    that thread within ``abandon_minutes``). The first comment after the warning decides."""
    limit = timedelta(minutes=abandon_minutes)
    by_reader: dict[tuple, list[FollowUp]] = defaultdict(list)
    for c in comments:
        by_reader[(c.article_id, "a", c.author_id)].append(c)
        if c.ip_hash:
            by_reader[(c.article_id, "i", c.ip_hash)].append(c)
    funnel = {"warned": 0, "rephrased": 0, "posted_anyway": 0, "abandoned": 0}
    for w in warnings:
        funnel["warned"] += 1
        key = (w.article_id, "a", w.author_id) if w.author_id is not None else (w.article_id, "i", w.ip_hash)
        candidates = sorted((c for c in by_reader.get(key, []) if w.created_at <= c.created_at <= w.created_at + limit),
                            key=lambda c: c.created_at)
        if not candidates:
            funnel["abandoned"] += 1
        elif candidates[0].rephrased:
            funnel["rephrased"] += 1
        else:
            funnel["posted_anyway"] += 1
    return funnel



def funnel_rows(site_id: int, since: datetime, until: datetime,
                 abandon_minutes: int) -> tuple[list[WarningRow], list[FollowUp]]:
    warnings = [WarningRow(*r) for r in db.session.execute(
        select(NudgeWarning.id, NudgeWarning.article_id, NudgeWarning.author_id, NudgeWarning.ip_hash,
               NudgeWarning.created_at)
        .where(NudgeWarning.site_id == site_id, NudgeWarning.created_at >= since,
               NudgeWarning.created_at < until))]
    if not warnings:
        return [], []
    articles = sorted({w.article_id for w in warnings})
    # Only the warned readers' comments, looked up by author (ix_comment_author) and, for guests, by
    # address (ix_comment_ip_created), in two queries so each uses its index: reading the warned
    # threads read every comment of a huge one in the window (121,858 rows at 1M; issue 19).
    authors = sorted({w.author_id for w in warnings if w.author_id is not None})
    addresses = sorted({w.ip_hash for w in warnings if w.author_id is None and w.ip_hash})
    follow = aliased(Comment)
    query = (select(Thread.article_id, follow.author_id, follow.ip_hash, follow.created_at,
                    follow.rephrased_after_warning)
             .join(Thread, Thread.id == follow.thread_id)
             .where(Thread.site_id == site_id, Thread.article_id.in_(articles), follow.created_at >= since,
                    follow.created_at < until + timedelta(minutes=abandon_minutes)))
    comments = [FollowUp(r.article_id, r.author_id, r.ip_hash, r.created_at, bool(r.rephrased_after_warning))
                for readers in ([follow.author_id.in_(authors)] if authors else [])
                + ([follow.ip_hash.in_(addresses)] if addresses else [])
                for r in db.session.execute(query.where(readers))]
    return warnings, comments
