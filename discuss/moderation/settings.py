"""Site moderation settings: the one place that holds the defaults.

A Site stores only what it changed; ``merged_settings`` overlays that on these defaults.
"""
from __future__ import annotations

import copy
from typing import Any

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
}

LIST_SETTINGS = ("banned_words", "suspect_words", "allowed_identities", "premoderated_user_ids")
PREMODERATION_MODES = ("off", "all", "new_commenters")
LINK_POLICIES = ("allow", "premoderate")


def merged_settings(overrides: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(DEFAULT_SETTINGS)
    for key, value in (overrides or {}).items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged
