"""Moderation rules: small classes in an ordered registry, each deciding one thing.

A rule returns an Outcome or None (no opinion). The pipeline stops at the first refusal or
rejection; holds accumulate, so a moderator sees every rule that fired.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from discuss.moderation.words import find_listed_words
from discuss.sanitize import count_links


class Verdict(str, enum.Enum):
    REFUSE = "refuse"   # answered 4xx, nothing stored
    REJECT = "reject"
    HOLD = "hold"


@dataclass
class Outcome:
    verdict: Verdict
    reasons: list[str]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class RuleContext:
    """Everything the rules may look at; nothing here touches the request or the database."""

    settings: dict[str, Any]
    text: str
    html: str
    thread_closed: bool
    thread_premoderated: bool
    author_id: int | None
    author_banned: bool
    now: datetime
    approved_count: Callable[[], int]
    # Scores are fetched lazily: rules before toxicity (bans, banned words) never pay for the model.
    score_provider: Callable[[], dict[str, float] | None]
    scoring_error: str | None = None
    # A guest posting from an address a current ban covers (Ban.ip_hash): held as ban_evasion.
    ip_banned: bool = False
    _scores: dict[str, float] | None = None
    _scored: bool = False

    @property
    def scores(self) -> dict[str, float] | None:
        if not self._scored:
            self._scored = True
            self._scores = self.score_provider()
        return self._scores


class Rule:
    code: str = ""

    def evaluate(self, ctx: RuleContext) -> Outcome | None:
        raise NotImplementedError


RULES: list[type[Rule]] = []


def register(rule_class: type[Rule]) -> type[Rule]:
    RULES.append(rule_class)
    return rule_class


@register
class ThreadOpenRule(Rule):
    code = "thread_open"

    def evaluate(self, ctx):
        if not ctx.settings.get("commenting_enabled", True):
            return Outcome(Verdict.REFUSE, ["commenting_disabled"])
        if ctx.thread_closed:
            return Outcome(Verdict.REFUSE, ["thread_closed"])
        return None


@register
class BannedAuthorRule(Rule):
    code = "banned_author"

    def evaluate(self, ctx):
        return Outcome(Verdict.REJECT, ["banned_author"]) if ctx.author_banned else None


@register
class BanEvasionRule(Rule):
    code = "ban_evasion"

    def evaluate(self, ctx):
        return Outcome(Verdict.HOLD, ["ban_evasion"]) if ctx.ip_banned and not ctx.author_banned else None


@register
class BannedWordsRule(Rule):
    code = "banned_words"

    def evaluate(self, ctx):
        found = find_listed_words(ctx.text, ctx.settings.get("banned_words") or [])
        return Outcome(Verdict.REJECT, ["banned_word"], {"banned_words": found}) if found else None


@register
class ToxicityRule(Rule):
    code = "toxicity"

    def evaluate(self, ctx):
        scores = ctx.scores
        if scores is None:
            reason = ctx.scoring_error or "scoring_unavailable"
            return None if reason == "scoring_disabled" else Outcome(Verdict.HOLD, [reason])
        rejected = _labels_over(scores, ctx.settings.get("reject_thresholds") or {})
        if rejected:
            return Outcome(Verdict.REJECT, [f"toxicity:{label}" for label in rejected], {"labels": rejected})
        held = _labels_over(scores, ctx.settings.get("hold_thresholds") or {})
        if held:
            return Outcome(Verdict.HOLD, [f"toxicity:{label}" for label in held], {"labels": held})
        return None


def _labels_over(scores: dict[str, float], thresholds: dict[str, float]) -> list[str]:
    return [label for label, limit in thresholds.items()
            if label in scores and limit is not None and scores[label] >= float(limit)]


@register
class SuspectWordsRule(Rule):
    code = "suspect_words"

    def evaluate(self, ctx):
        found = find_listed_words(ctx.text, ctx.settings.get("suspect_words") or [])
        return Outcome(Verdict.HOLD, ["suspect_word"], {"suspect_words": found}) if found else None


@register
class LinksRule(Rule):
    code = "links"

    def evaluate(self, ctx):
        links = count_links(ctx.html)
        if links and ctx.settings.get("link_policy") == "premoderate":
            return Outcome(Verdict.HOLD, ["links:premoderated"])
        limit = ctx.settings.get("max_links")
        if limit is not None and links > int(limit):
            return Outcome(Verdict.HOLD, ["links:too_many"])
        return None


@register
class PremoderationRule(Rule):
    code = "premoderation"

    def evaluate(self, ctx):
        mode = ctx.settings.get("premoderation", "off")
        if mode == "all":
            return Outcome(Verdict.HOLD, ["premoderation:site"])
        if ctx.thread_premoderated:
            return Outcome(Verdict.HOLD, ["premoderation:thread"])
        if ctx.author_id in (ctx.settings.get("premoderated_user_ids") or []):
            return Outcome(Verdict.HOLD, ["premoderation:user"])
        if mode == "new_commenters" and ctx.approved_count() < int(ctx.settings.get("new_commenter_approved_min", 1)):
            return Outcome(Verdict.HOLD, ["premoderation:new_commenter"])
        return None


@dataclass
class PipelineResult:
    verdict: Verdict | None  # None: publish
    reasons: list[str]
    details: dict[str, Any]
    refused: Outcome | None = None


def run_rules(ctx: RuleContext, rules: list[type[Rule]] | None = None,
              on_outcome: Callable[[Rule, Outcome], None] | None = None) -> PipelineResult:
    holds: list[str] = []
    details: dict[str, Any] = {}
    for rule_class in rules or RULES:
        rule = rule_class()
        outcome = rule.evaluate(ctx)
        if outcome is None:
            continue
        details.update(outcome.details)
        if on_outcome is not None:
            on_outcome(rule, outcome)
        if outcome.verdict is Verdict.REFUSE:
            return PipelineResult(Verdict.REFUSE, outcome.reasons, details, refused=outcome)
        if outcome.verdict is Verdict.REJECT:
            return PipelineResult(Verdict.REJECT, outcome.reasons, details)
        holds.extend(outcome.reasons)
    return PipelineResult(Verdict.HOLD if holds else None, holds, details)
