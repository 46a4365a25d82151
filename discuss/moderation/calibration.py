"""Calibration: how well the toxicity thresholds agree with the site's own moderators.

It rests on comments a moderator decided (held and then approved or rejected; published and
later removed; reported and kept or removed), as loaded by ``replay_data.load_rows``. Per label:

- caught: decided comments whose score reaches the label's current hold threshold;
- precision: of those, the share a moderator rejected;
- recall: of the comments moderators rejected, the share this label's threshold caught;
- reliability: the moderator rejection rate in score bands of 0.1.

"overall" does the same for the whole decision (any rule holding or rejecting, replayed with
the current thresholds).
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from discuss.models import Site
from discuss.moderation.replay import MOD_REJECTED, PUBLISHED, ReplayRow, outcomes, suggest_thresholds
from discuss.moderation.replay_data import load_rows, parse_target

MIN_DECISIONS = 50         # below this the page says the figures are too few to trust
MIN_REJECTIONS = 10
BANDS = 10


def band_of(score: float) -> int:
    """0 for [0, 0.1), ..., 9 for [0.9, 1.0]; the epsilon keeps 0.3 in band 3 despite float error."""
    return min(BANDS - 1, max(0, math.floor(score * BANDS + 1e-9)))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def label_calibration(rows: list[ReplayRow], label: str, hold_at: float | None) -> dict[str, Any]:
    decided = [r for r in rows if r.verdict is not None and label in r.scores]
    rejected = sum(r.verdict == MOD_REJECTED for r in decided)
    caught = [r for r in decided if hold_at is not None and r.scores[label] >= hold_at]
    true_positives = sum(r.verdict == MOD_REJECTED for r in caught)
    bands = [{"band": f"{i / BANDS:.1f}-{(i + 1) / BANDS:.1f}", "decisions": 0, "rejected": 0, "rate": None}
             for i in range(BANDS)]
    for r in decided:
        entry = bands[band_of(r.scores[label])]
        entry["decisions"] += 1
        entry["rejected"] += r.verdict == MOD_REJECTED
    for entry in bands:
        entry["rate"] = _ratio(entry["rejected"], entry["decisions"])
    return {"label": label, "hold_at": hold_at, "decisions": len(decided), "moderator_rejected": rejected,
            "caught": len(caught), "caught_and_rejected": true_positives,
            "precision": _ratio(true_positives, len(caught)), "recall": _ratio(true_positives, rejected),
            "reliability": bands}


def calibrate(rows: list[ReplayRow], settings: dict[str, Any]) -> dict[str, Any]:
    """Per-label and overall agreement, from rows with scores and verdicts (pure: no queries)."""
    hold = settings.get("hold_thresholds") or {}
    labels = sorted(set(hold) | {label for r in rows if r.verdict for label in r.scores if label in hold})
    decided = [r for r in rows if r.verdict is not None]
    rejected = sum(r.verdict == MOD_REJECTED for r in decided)
    results = outcomes(decided, settings)
    flagged = [r for r, o in zip(decided, results) if o != PUBLISHED]
    flagged_rejected = sum(r.verdict == MOD_REJECTED for r in flagged)
    trusted = len(decided) >= MIN_DECISIONS and rejected >= MIN_REJECTIONS
    return {
        "decisions": len(decided), "moderator_rejected": rejected, "moderator_approved": len(decided) - rejected,
        "trusted": trusted,
        "trust_note": None if trusted else (
            f"Only {len(decided)} moderator decisions ({rejected} rejections) in this range: too few to trust. "
            f"These figures mean little below {MIN_DECISIONS} decisions and {MIN_REJECTIONS} rejections."),
        "overall": {"flagged": len(flagged), "flagged_and_rejected": flagged_rejected,
                    "precision": _ratio(flagged_rejected, len(flagged)), "recall": _ratio(flagged_rejected, rejected)},
        "labels": [label_calibration(rows, label, hold.get(label)) for label in labels],
    }


def site_calibration(site: Site, since: datetime, until: datetime, target_recall: Any = None) -> dict[str, Any]:
    settings = site.effective_settings()
    rows = load_rows(site.id, since, until, decided_only=True)
    target = parse_target(target_recall)
    return {"site": site.slug, **calibrate(rows, settings), "target_recall": target,
            "suggested": suggest_thresholds(rows, settings, target)}
