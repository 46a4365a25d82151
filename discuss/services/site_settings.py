"""Validating and saving a site's moderation settings (the admin settings page and API)."""
from __future__ import annotations

from typing import Any

from discuss.errors import ValidationFailed
from discuss.models import Site
from discuss.moderation.settings import (DEFAULT_SETTINGS, LINK_POLICIES, PREMODERATION_MODES,
                                         merged_settings)
from discuss.services import sites as site_service
from discuss.services.audit import record_event
from discuss.services.staff import Actor

IDENTITIES = ("guest", "account", "sso")
DELETION_POLICIES = ("anonymize", "remove")
INT_RANGES = {"max_depth": (0, 10), "edit_window_minutes": (0, 1440), "max_links": (0, 50),
              "new_commenter_approved_min": (0, 100)}
BOOL_KEYS = ("commenting_enabled", "require_guest_email", "toxicity_nudge")
CHOICES = {"link_policy": LINK_POLICIES, "premoderation": PREMODERATION_MODES,
           "account_deletion_policy": DELETION_POLICIES}
MAX_WORDS = 2000


def clean_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """Check every changed key against its type and range; unknown keys are refused."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in DEFAULT_SETTINGS:
            errors[key] = "unknown setting"
            continue
        try:
            cleaned[key] = _clean_value(key, value)
        except ValueError as err:
            errors[key] = str(err)
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _clean_value(key: str, value: Any) -> Any:
    if key in INT_RANGES:
        return _int_in_range(value, *INT_RANGES[key])
    if key in BOOL_KEYS:
        if not isinstance(value, bool):
            raise ValueError("true or false")
        return value
    if key in CHOICES:
        if value not in CHOICES[key]:
            raise ValueError(f"one of: {', '.join(CHOICES[key])}")
        return value
    if key in ("hold_thresholds", "reject_thresholds"):
        return _thresholds(value)
    if key in ("banned_words", "suspect_words"):
        return _words(value)
    if key == "allowed_identities":
        if not isinstance(value, list) or not value or any(v not in IDENTITIES for v in value):
            raise ValueError(f"a non-empty list of: {', '.join(IDENTITIES)}")
        return [i for i in IDENTITIES if i in value]
    if key == "premoderated_user_ids":
        if not isinstance(value, list) or any(not isinstance(v, int) or isinstance(v, bool) for v in value):
            raise ValueError("a list of user ids")
        return sorted(set(value))
    raise ValueError("not editable")


def _int_in_range(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"a whole number from {low} to {high}")
    return value


def _thresholds(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValueError("a mapping of label to a score between 0 and 1")
    cleaned = {}
    for label, score in value.items():
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 < score <= 1:
            raise ValueError(f"{label}: a score above 0 and at most 1")
        cleaned[str(label)] = round(float(score), 3)
    return cleaned


def _words(value: Any) -> list[str]:
    if not isinstance(value, list) or any(not isinstance(w, str) for w in value):
        raise ValueError("a list of words")
    words = sorted({w.strip().lower() for w in value if w.strip()})
    if len(words) > MAX_WORDS or any(len(w) > 100 for w in words):
        raise ValueError(f"at most {MAX_WORDS} words of up to 100 characters")
    return words


def save_site_settings(actor: Actor, site: Site, changes: dict[str, Any],
                       origins: list[str] | None = None) -> Site:
    """Validate and store settings (and embed origins), with an audit row naming what changed."""
    cleaned = clean_settings(changes)
    before = merged_settings(site.settings or {})
    changed = sorted(k for k, v in cleaned.items() if before.get(k) != v)
    if origins is not None:
        normalized = sorted({site_service.normalize_origin(o) for o in origins if o.strip()})
        if normalized != sorted(site.allowed_origins or []):
            site.allowed_origins = normalized
            changed.append("allowed_origins")
    if changed:
        record_event(site_id=site.id, action="settings", actor=actor.user, actor_label=actor.label,
                     details={"changed": changed})
    # Threshold mappings overlay the defaults (merged_settings): set 1.0 to stop holding on a label.
    return site_service.update_settings(site, cleaned)
