"""The settings page's form: HTML field values in, typed setting values out (services validate)."""
from __future__ import annotations

from typing import Any, Mapping

from flask_babel import gettext, lazy_gettext

from discuss.models.settings import BOOL_KEYS, CHOICES, DEFAULT_SETTINGS, IDENTITIES, INT_RANGES
from discuss.scoring.base import CORE_LABELS

# Lazy: the page shows them in the staff member's language.
HELP = {
    "max_depth": lazy_gettext("Replies nest at most this deep (0 = no replies)."),
    "edit_window_minutes": lazy_gettext("Authors may edit a comment for this long after posting."),
    "max_links": lazy_gettext("Hold comments with more links than this."),
    "new_commenter_approved_min": lazy_gettext(
        "With “new commenters” pre-moderation: approved comments needed before an author posts directly."),
    "commenting_enabled": lazy_gettext("Readers can post on this site."),
    "require_guest_email": lazy_gettext("Guests must give an email address."),
    "toxicity_nudge": lazy_gettext(
        "Warn authors before posting a comment that scores as toxic, so they can rephrase."),
    "webhooks_allow_private": lazy_gettext(
        "Let webhooks reach private, loopback and link-local addresses (an intranet receiver). Off, they "
        "are refused, so a webhook cannot probe internal services."),
    "ban_ip_days": lazy_gettext(
        "A ban also holds new guests from the banned author's address for this many days (reason "
        "ban_evasion; 0 = off)."),
    "rejection_feedback": lazy_gettext(
        "Whether the author of a rejected comment is told why (for example, a banned word)."),
    "proof_of_work": lazy_gettext(
        "Readers' browsers solve a small puzzle (ALTCHA) before posting, so floods cost the sender."),
    "auto_hold_reports": lazy_gettext(
        "Take a published comment out of the thread for review once it has this many open reports (0 = "
        "never)."),
    "auto_close_days": lazy_gettext(
        "Close a thread to new comments this many days after its first comment (0 = never)."),
    "cache_max_age_seconds": lazy_gettext(
        "Browsers, proxies and CDNs may reuse a thread page or counts for this long, so a new comment or "
        "a removal can take this long to reach readers who open the thread (0 = they must check each "
        "time)."),
    "language": lazy_gettext(
        "The widget's and the no-JavaScript page's language when the embed gives none (data-lang), and "
        "the language of readers' emails. With the browser's language, each reader gets theirs."),
}

LABELS = {
    "max_depth": lazy_gettext("Maximum reply depth"),
    "edit_window_minutes": lazy_gettext("Edit window (minutes)"),
    "max_links": lazy_gettext("Maximum links"),
    "new_commenter_approved_min": lazy_gettext("Approvals before trusted"),
    "commenting_enabled": lazy_gettext("Commenting open"),
    "require_guest_email": lazy_gettext("Require guest email"),
    "toxicity_nudge": lazy_gettext("Toxicity nudge"),
    "webhooks_allow_private": lazy_gettext("Webhooks may reach private addresses"),
    "ban_ip_days": lazy_gettext("Ban covers the address (days)"),
    "rejection_feedback": lazy_gettext("Tell authors why a comment was rejected"),
    "proof_of_work": lazy_gettext("Proof of work before posting"),
    "auto_hold_reports": lazy_gettext("Hold after this many reports"),
    "auto_close_days": lazy_gettext("Close threads after (days)"),
    "cache_max_age_seconds": lazy_gettext("Cache public reads for (seconds)"),
    "language": lazy_gettext("Site language"),
}


def threshold_labels(settings: dict[str, Any]) -> list[str]:
    extra = set(settings.get("hold_thresholds") or {}) | set(settings.get("reject_thresholds") or {})
    return list(CORE_LABELS) + sorted(extra - set(CORE_LABELS))


def parse_settings_form(form: Mapping[str, Any], current: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return (changes, errors). Blank threshold boxes mean 'no threshold for that label'."""
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in INT_RANGES:
        if key not in form:  # a field this form does not show: keep the current value
            continue
        raw = (form.get(key) or "").strip()
        try:
            changes[key] = int(raw)
        except ValueError:
            errors[key] = gettext("a whole number")
    for key in BOOL_KEYS:
        changes[key] = form.get(key) == "on"
    for key in ("link_policy", "premoderation", "account_deletion_policy", "rejection_feedback", "proof_of_work",
                "language"):
        if key in form:
            changes[key] = form.get(key, "")
    changes["allowed_identities"] = [i for i in IDENTITIES if form.get(f"identity_{i}") == "on"]
    for key in ("banned_words", "suspect_words"):
        changes[key] = _lines(form.get(key, ""))
    for key in ("hold_thresholds", "reject_thresholds"):
        changes[key] = _thresholds(form, key, threshold_labels(current), errors)
    try:
        changes["premoderated_user_ids"] = [int(v) for v in _lines(form.get("premoderated_user_ids", ""))]
    except ValueError:
        errors["premoderated_user_ids"] = gettext("user ids, one per line or comma-separated")
    return changes, errors


def _lines(text: str) -> list[str]:
    return [part.strip() for line in text.splitlines() for part in line.split(",") if part.strip()]


def _thresholds(form: Mapping[str, Any], key: str, labels: list[str], errors: dict[str, str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for label in labels:
        raw = (form.get(f"{key}.{label}") or "").strip()
        if not raw:
            # merged_settings overlays the defaults, so a default label cannot be dropped: a blank
            # box stores 1.0, the highest threshold there is.
            if label in DEFAULT_SETTINGS.get(key, {}):
                values[label] = 1.0
            continue
        try:
            values[label] = float(raw)
        except ValueError:
            errors[f"{key}.{label}"] = gettext("a number between 0 and 1")
    return values


def parse_origins(form: Mapping[str, Any]) -> list[str]:
    return _lines(form.get("allowed_origins", ""))


CHOICE_OPTIONS = CHOICES  # the select boxes offer exactly what validation accepts
