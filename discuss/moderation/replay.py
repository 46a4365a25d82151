"""Replay: what the site's automatic decision would have been with other toxicity thresholds.

The decision is re-run over stored scores with the real rules (``moderation.rules``): the
toxicity rule as it is, and the other rules' stored outcomes (a banned word still rejects,
pre-moderation still holds) replayed in their place in the order. Text rules are not re-run:
only thresholds change. Both the current and the proposed thresholds are replayed the same
way, so a threshold changed last month does not show up as a change.

Moderator verdicts: a comment a moderator decided is "rejected" if it ended rejected (held and
rejected, or published and removed) and "approved" if it ended published (approved, restored,
or reported and kept).
"""
from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from discuss.moderation.rules import Outcome, Rule, RuleContext, ToxicityRule, Verdict, run_rules

PUBLISHED, HELD, REJECTED = "published", "held", "rejected"
MOD_REJECTED, MOD_APPROVED = "rejected", "approved"
STORED_REJECT_CODES = ("banned_author", "banned_word")
STORED_HOLD_PREFIXES = ("suspect_word", "links:", "premoderation:")
PIPELINE_ACTIONS = ("create", "edit", "rescore")
MAX_RANGE_DAYS = 366
MAX_SAMPLE = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class ReplayRow:
    """One comment, or (``count`` > 1, ``comment_id`` None) a group of undecided comments whose
    scores reach exactly the same thresholds: the rules give every member the same outcome."""
    comment_id: int | None
    scores: dict[str, float]
    stored_reasons: tuple[str, ...] = ()   # the non-toxicity automatic reasons
    verdict: str | None = None             # MOD_REJECTED, MOD_APPROVED or None (no human decision)
    count: int = 1
    ids: tuple[int, ...] = ()              # a group's sample of comment ids (its lowest and highest)


@dataclass
class ReplayContext(RuleContext):
    stored_reasons: tuple[str, ...] = ()


class StoredRejectRule(Rule):
    """Banned author / banned word, as decided when the comment was posted (they run before toxicity)."""
    code = "stored_reject"

    def evaluate(self, ctx):
        found = [r for r in ctx.stored_reasons if r in STORED_REJECT_CODES]
        return Outcome(Verdict.REJECT, found) if found else None


class StoredHoldRule(Rule):
    """Suspect words, links and pre-moderation, as decided when the comment was posted."""
    code = "stored_hold"

    def evaluate(self, ctx):
        found = [r for r in ctx.stored_reasons if r.startswith(STORED_HOLD_PREFIXES)]
        return Outcome(Verdict.HOLD, found) if found else None


REPLAY_RULES: list[type[Rule]] = [StoredRejectRule, ToxicityRule, StoredHoldRule]
_VERDICT_OUTCOME = {None: PUBLISHED, Verdict.HOLD: HELD, Verdict.REJECT: REJECTED}


def stored_reasons(reasons: Iterable[str]) -> tuple[str, ...]:
    return tuple(r for r in reasons or () if r in STORED_REJECT_CODES or r.startswith(STORED_HOLD_PREFIXES))


def outcome(row: ReplayRow, settings: dict[str, Any]) -> str:
    """published / held / rejected for one comment under ``settings``' thresholds."""
    scores = row.scores
    ctx = ReplayContext(settings=settings, text="", html="", thread_closed=False, thread_premoderated=False,
                        author_id=None, author_banned=False, now=_EPOCH, approved_count=lambda: 0,
                        score_provider=lambda: scores, stored_reasons=row.stored_reasons)
    return _VERDICT_OUTCOME[run_rules(ctx, REPLAY_RULES).verdict]


def outcomes(rows: list[ReplayRow], settings: dict[str, Any]) -> list[str]:
    """``outcome`` for each row, the rules run once per kind of row: rows whose scores reach the same
    thresholds (per label) with the same stored reasons get the same outcome, as ``load_groups``
    relies on too. Calibration at a million comments ran the rules 97,434 times (1 s; issue 19)."""
    points = {label: values[::-1] for label, values in threshold_points(settings).items()}  # lowest first
    known: dict[tuple, str] = {}
    found = []
    for row in rows:
        scores = row.scores
        key = (row.stored_reasons,
               *(bisect_right(limits, scores[label]) if label in scores else -1 for label, limits in points.items()))
        if key not in known:
            known[key] = outcome(row, settings)
        found.append(known[key])
    return found


def thresholds_of(settings: dict[str, Any]) -> dict[str, Any]:
    return {"hold_thresholds": dict(settings.get("hold_thresholds") or {}),
            "reject_thresholds": dict(settings.get("reject_thresholds") or {})}


@dataclass
class ReplayResult:
    comments: int
    changed: int
    transitions: dict[str, dict[str, int]]
    held_before: int
    held_after: int
    moderator_rejected_let_through: int
    moderator_rejected_caught: int
    approved_newly_held: int
    approved_no_longer_held: int
    sample: list[dict[str, Any]] = field(default_factory=list)

    @property
    def reviews_delta(self) -> int:
        """Moderator reviews added (positive) or saved (negative): the change in held comments."""
        return self.held_after - self.held_before

    def as_json(self) -> dict[str, Any]:
        return {"comments": self.comments, "changed": self.changed, "transitions": self.transitions,
                "reviews": {"held_before": self.held_before, "held_after": self.held_after,
                            "added": max(0, self.reviews_delta), "saved": max(0, -self.reviews_delta)},
                "toxic": {"let_through": self.moderator_rejected_let_through,
                          "caught": self.moderator_rejected_caught},
                "approved": {"newly_held": self.approved_newly_held,
                             "no_longer_held": self.approved_no_longer_held},
                "sample": self.sample}


def replay(rows: list[ReplayRow], current: dict[str, Any], proposed: dict[str, Any],
           sample_size: int = 20) -> ReplayResult:
    """Compare the decision under ``current`` and ``proposed`` settings for every row."""
    transitions: dict[str, Counter] = {}
    held_before = held_after = let_through = caught = newly_held = no_longer_held = 0
    sample: list[dict[str, Any]] = []
    changed_rows: list[tuple[ReplayRow, str, str]] = []
    for row in rows:
        before, after = outcome(row, current), outcome(row, proposed)
        n = row.count
        held_before += n * (before == HELD)
        held_after += n * (after == HELD)
        if before == after:
            continue
        key = f"{before}->{after}"
        transitions.setdefault(key, Counter())[row.verdict or "undecided"] += n
        if row.verdict == MOD_REJECTED:
            let_through += n * (after == PUBLISHED)
            caught += n * (before == PUBLISHED)
        elif row.verdict == MOD_APPROVED:
            newly_held += n * (after == HELD)
            no_longer_held += n * (before == HELD)
        changed_rows.append((row, before, after))
    # The sample: comments a moderator decided first (their verdict says whether the change is good).
    def order(item: tuple[ReplayRow, str, str]) -> tuple[bool, int]:
        row = item[0]
        return row.verdict is None, row.comment_id if row.comment_id is not None else min(row.ids, default=0)

    for row, before, after in sorted(changed_rows, key=order):
        for comment_id in (row.comment_id,) if row.comment_id is not None else row.ids:
            if len(sample) < sample_size:
                sample.append({"id": comment_id, "before": before, "after": after, "moderator": row.verdict})
    changed = sum(sum(c.values()) for c in transitions.values())
    return ReplayResult(
        comments=sum(r.count for r in rows), changed=changed,
        transitions={k: {"total": sum(c.values()), "rejected_by_moderator": c[MOD_REJECTED],
                         "approved_by_moderator": c[MOD_APPROVED], "undecided": c["undecided"]}
                     for k, c in sorted(transitions.items())},
        held_before=held_before, held_after=held_after, moderator_rejected_let_through=let_through,
        moderator_rejected_caught=caught, approved_newly_held=newly_held, approved_no_longer_held=no_longer_held,
        sample=sample)


def recall_and_holds(rows: list[ReplayRow], settings: dict[str, Any]) -> tuple[float | None, int]:
    """Recall of moderator rejections (held or rejected automatically) and holds, over decided rows."""
    decided = [r for r in rows if r.verdict is not None]
    results = outcomes(decided, settings)
    rejected = [o for r, o in zip(decided, results) if r.verdict == MOD_REJECTED]
    recall = sum(o != PUBLISHED for o in rejected) / len(rejected) if rejected else None
    return recall, sum(o == HELD for o in results)


def suggest_thresholds(rows: list[ReplayRow], settings: dict[str, Any], target_recall: float) -> dict[str, Any]:
    """Per label, the highest hold threshold (so the fewest holds: holds only fall as a threshold
    rises) that keeps recall of moderator rejections at or above ``target_recall``, the other labels
    left as they are. Recall changes only at the scores of rejected comments, so the answer is one
    of them: the k-th highest score among the rejected comments the other labels miss."""
    rejected = [r for r in rows if r.verdict == MOD_REJECTED]
    needed = math.ceil(target_recall * len(rejected) - 1e-9)
    suggestions: dict[str, Any] = {}
    for label in sorted(settings.get("hold_thresholds") or {}):
        without = {**settings, "hold_thresholds": {k: v for k, v in settings["hold_thresholds"].items()
                                                   if k != label}}
        missed = [r for r, o in zip(rejected, outcomes(rejected, without)) if o == PUBLISHED]
        short = needed - (len(rejected) - len(missed))
        if not rejected:
            suggestions[label] = {"threshold": None, "reason": "no moderator rejections in this range"}
            continue
        if short <= 0:
            threshold = 1.0
        else:
            scores = sorted((r.scores.get(label, 0.0) for r in missed), reverse=True)
            if short > len(scores) or scores[short - 1] <= 0:
                suggestions[label] = {"threshold": None,
                                      "reason": "no threshold on this label alone reaches the target"}
                continue
            threshold = max(0.001, math.floor(scores[short - 1] * 1000) / 1000)
        trial = {**settings, "hold_thresholds": {**settings["hold_thresholds"], label: threshold}}
        recall, holds = recall_and_holds(rows, trial)
        suggestions[label] = {"threshold": threshold, "current": settings["hold_thresholds"][label],
                              "recall": recall, "holds_among_decided": holds}
    return suggestions


def threshold_points(*settings: dict[str, Any]) -> dict[str, list[float]]:
    """Every hold or reject threshold in any of the settings, per label, highest first."""
    points: dict[str, set[float]] = {}
    for entry in settings:
        for key in ("hold_thresholds", "reject_thresholds"):
            for label, value in (entry.get(key) or {}).items():
                if value is not None:
                    points.setdefault(label, set()).add(float(value))
    return {label: sorted(values, reverse=True) for label, values in sorted(points.items())}
