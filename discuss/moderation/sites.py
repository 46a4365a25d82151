"""Creating sites and saving their settings and embed origins (with an audit row)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from typing import Any

from discuss.errors import ApiError, ValidationFailed
from discuss.locales import N_
from discuss.extensions import db
from discuss.identity.staff import Actor
from discuss.models import Site
from discuss.models.queries import site_by_slug
from discuss.models.settings import clean_settings, merged_settings
from discuss.moderation.audit import record_event

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def normalize_origin(origin: str) -> str:
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ValidationFailed({"origin": f"'{origin}' is not an origin like https://news.example.com"})
    return f"{parts.scheme}://{parts.netloc.lower()}"


def create_site(slug: str, name: str, origins: list[str]) -> Site:
    if not SLUG_RE.match(slug):
        raise ValidationFailed({"slug": "use lowercase letters, digits, '-' or '_' (max 64)"})
    if site_by_slug(slug) is not None:
        raise ApiError("site_exists", f"A site '{slug}' already exists.", 409)
    site = Site(slug=slug, name=name, allowed_origins=[normalize_origin(o) for o in origins], settings={})
    db.session.add(site)
    db.session.commit()
    return site


def all_sites() -> list[Site]:
    return list(db.session.scalars(select(Site).order_by(Site.slug)))


def update_settings(site: Site, changes: dict) -> Site:
    site.settings = {**(site.settings or {}), **changes}
    db.session.commit()
    return site


def save_site_settings(actor: Actor, site: Site, changes: dict[str, Any],
                       origins: list[str] | None = None) -> Site:
    """Validate and store settings (and embed origins), with an audit row naming what changed."""
    return _save(actor, site, clean_settings(changes), origins, action="settings")


def apply_thresholds(actor: Actor, site: Site, hold: dict[str, float] | None,
                     reject: dict[str, float] | None, note: str | None = None) -> Site:
    """Apply proposed toxicity thresholds (from a replay) as one audited action."""
    changes = {k: v for k, v in (("hold_thresholds", hold), ("reject_thresholds", reject)) if v is not None}
    if not changes:
        raise ValidationFailed({"hold_thresholds": N_("give hold_thresholds, reject_thresholds or both")})
    return _save(actor, site, clean_settings(changes), None, action="apply_thresholds", note=note)


def _save(actor: Actor, site: Site, cleaned: dict[str, Any], origins: list[str] | None, *, action: str,
          note: str | None = None) -> Site:
    """Store changes with an audit row holding each changed key's old and new value (undo uses them)."""
    before = merged_settings(site.settings or {})
    after = merged_settings({**(site.settings or {}), **cleaned})
    changed = sorted(k for k in cleaned if before.get(k) != after.get(k))
    old = {k: before.get(k) for k in changed}
    new = {k: after.get(k) for k in changed}
    if origins is not None:
        normalized = sorted({normalize_origin(o) for o in origins if o.strip()})
        if normalized != sorted(site.allowed_origins or []):
            old["allowed_origins"], new["allowed_origins"] = sorted(site.allowed_origins or []), normalized
            site.allowed_origins = normalized
            changed.append("allowed_origins")
    if changed:
        record_event(site_id=site.id, action=action, actor=actor.user, actor_label=actor.label,
                     note=(note or "").strip()[:1000] or None,
                     details={"changed": changed, "old": old, "new": new})
    # Threshold mappings overlay the defaults (merged_settings): set 1.0 to stop holding on a label.
    return update_settings(site, cleaned)
