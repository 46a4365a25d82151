"""Site settings: the one place that holds each setting's default and its validation.

A Site stores only what it changed (the ``Site.settings`` JSON column); ``merged_settings``
overlays that on these defaults and ``clean_settings`` checks a change before it is saved.
They live beside the tables, not in the moderation domain, because every domain reads them
(SSO checks allowed identities, reading shows the depth, posting the edit window).
"""
from __future__ import annotations

import copy
from typing import Any

from discuss.errors import ValidationFailed
from discuss.locales import N_
from discuss.locales import LANGUAGES

DEFAULT_SETTINGS: dict[str, Any] = {
    # Structure
    "max_depth": 3,                    # replies nest at most this deep (top level is depth 0)
    "edit_window_minutes": 15,
    "commenting_enabled": True,
    # Who may post: any combination of guest, account, sso
    "allowed_identities": ["guest", "account", "sso"],
    "require_guest_email": False,
    # Toxicity: hold when a label reaches its threshold; reject when a reject threshold is reached.
    "hold_thresholds": {
        "toxicity": 0.80,
        "insult": 0.70,
        "threat": 0.70,
        "identity_attack": 0.70,
        "severe_toxicity": 0.70,
    },
    "reject_thresholds": {"severe_toxicity": 0.95},
    "toxicity_nudge": True,
    # Word lists: banned words reject, suspect words hold.
    "banned_words": [],
    "suspect_words": [],
    # Links: "allow", "premoderate" (hold any comment with a link); max_links holds above N.
    "link_policy": "allow",
    "max_links": 3,
    # Pre-moderation: "off", "all" (whole site), "new_commenters"
    "premoderation": "off",
    "new_commenter_approved_min": 1,
    "premoderated_user_ids": [],
    # What happens to a deleted reader's comments: "anonymize" or "remove"
    "account_deletion_policy": "anonymize",
    # Webhooks may go to private, loopback and link-local addresses (intranets, tests). Off: refused.
    "webhooks_allow_private": False,
    # A ban also covers the banned author's last IP hash on the site for this many days (never
    # longer than the ban): a new guest identity from that address is held as ban_evasion. 0: off.
    "ban_ip_days": 7,
    # What a rejected comment's author is told: "quiet" (only that it was not published) or
    # "explain" (the reason: banned words, toxicity, ban).
    "rejection_feedback": "quiet",
    # Proof of work (ALTCHA) before posting: "off", "guests" or "everyone".
    "proof_of_work": "off",
    # Reports: hold a published comment (reason reports_threshold) once it has this many open
    # reports; 0 turns it off.
    "auto_hold_reports": 0,
    # Close a thread to new comments this many days after its first comment; 0 never closes.
    "auto_close_days": 0,
    # HTTP caching of anonymous reads (thread pages, counts): browsers, proxies and CDNs may reuse
    # an answer for this many seconds, so a new comment or a removal can take this long to show to
    # readers who load the thread (open widgets learn of new comments through the live poll). 0:
    # caches must ask every time (a cheap 304 when nothing changed).
    "cache_max_age_seconds": 10,
    # The widget's and the read page's language when the embed gives none (data-lang, ?lang=), and
    # the language of readers' emails: a code from discuss.locales.LANGUAGES, or "auto" for each
    # reader's browser language.
    "language": "auto",
}

LIST_SETTINGS = ("banned_words", "suspect_words", "allowed_identities", "premoderated_user_ids")
PREMODERATION_MODES = ("off", "all", "new_commenters")
LINK_POLICIES = ("allow", "premoderate")
REJECTION_FEEDBACK = ("quiet", "explain")
PROOF_OF_WORK = ("off", "guests", "everyone")
SITE_LANGUAGES = ("auto", *LANGUAGES)


def merged_settings(overrides: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(DEFAULT_SETTINGS)
    for key, value in (overrides or {}).items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


IDENTITIES = ("guest", "account", "sso")
DELETION_POLICIES = ("anonymize", "remove")
INT_RANGES = {"max_depth": (0, 10), "edit_window_minutes": (0, 1440), "max_links": (0, 50),
              "new_commenter_approved_min": (0, 100), "ban_ip_days": (0, 365), "auto_hold_reports": (0, 1000),
              "auto_close_days": (0, 3650),
              "cache_max_age_seconds": (0, 3600)}
BOOL_KEYS = ("commenting_enabled", "require_guest_email", "toxicity_nudge", "webhooks_allow_private")
CHOICES = {"link_policy": LINK_POLICIES, "premoderation": PREMODERATION_MODES,
           "account_deletion_policy": DELETION_POLICIES, "rejection_feedback": REJECTION_FEEDBACK,
           "proof_of_work": PROOF_OF_WORK, "language": SITE_LANGUAGES}
MAX_WORDS = 2000


def clean_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """Check every changed key against its type and range; unknown keys are refused."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in DEFAULT_SETTINGS:
            errors[key] = N_("unknown setting")
            continue
        try:
            cleaned[key] = _clean_value(key, value)
        except ValueError as err:
            errors[key] = err.args[0] if err.args else str(err)  # a Text keeps its msgid
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _clean_value(key: str, value: Any) -> Any:
    if key in INT_RANGES:
        return _int_in_range(value, *INT_RANGES[key])
    if key in BOOL_KEYS:
        if not isinstance(value, bool):
            raise ValueError(N_("true or false"))
        return value
    if key in CHOICES:
        if value not in CHOICES[key]:
            raise ValueError(N_("one of: %(choices)s", choices=", ".join(CHOICES[key])))
        return value
    if key in ("hold_thresholds", "reject_thresholds"):
        return _thresholds(value)
    if key in ("banned_words", "suspect_words"):
        return _words(value)
    if key == "allowed_identities":
        if not isinstance(value, list) or not value or any(v not in IDENTITIES for v in value):
            raise ValueError(N_("a non-empty list of: %(choices)s", choices=", ".join(IDENTITIES)))
        return [i for i in IDENTITIES if i in value]
    if key == "premoderated_user_ids":
        if not isinstance(value, list) or any(not isinstance(v, int) or isinstance(v, bool) for v in value):
            raise ValueError(N_("a list of user ids"))
        return sorted(set(value))
    raise ValueError(N_("not editable"))


def _int_in_range(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(N_("a whole number from %(low)s to %(high)s", low=low, high=high))
    return value


def _thresholds(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValueError(N_("a mapping of label to a score between 0 and 1"))
    cleaned = {}
    for label, score in value.items():
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 < score <= 1:
            raise ValueError(N_("%(label)s: a score above 0 and at most 1", label=label))
        cleaned[str(label)] = round(float(score), 3)
    return cleaned


def _words(value: Any) -> list[str]:
    if not isinstance(value, list) or any(not isinstance(w, str) for w in value):
        raise ValueError(N_("a list of words"))
    words = sorted({w.strip().lower() for w in value if w.strip()})
    if len(words) > MAX_WORDS or any(len(w) > 100 for w in words):
        raise ValueError(N_("at most %(num)s words of up to 100 characters", num=MAX_WORDS))
    return words
