"""Creating and configuring sites."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from discuss.errors import ApiError, ValidationFailed
from discuss.extensions import db
from discuss.models import Site

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def normalize_origin(origin: str) -> str:
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ValidationFailed({"origin": f"'{origin}' is not an origin like https://news.example.com"})
    return f"{parts.scheme}://{parts.netloc.lower()}"


def create_site(slug: str, name: str, origins: list[str]) -> Site:
    if not SLUG_RE.match(slug):
        raise ValidationFailed({"slug": "use lowercase letters, digits, '-' or '_' (max 64)"})
    if db.session.scalar(select(Site).where(Site.slug == slug)):
        raise ApiError("site_exists", f"A site '{slug}' already exists.", 409)
    site = Site(slug=slug, name=name, allowed_origins=[normalize_origin(o) for o in origins], settings={})
    db.session.add(site)
    db.session.commit()
    return site


def get_site_by_slug(slug: str) -> Site | None:
    return db.session.scalar(select(Site).where(Site.slug == slug))


def all_sites() -> list[Site]:
    return list(db.session.scalars(select(Site).order_by(Site.slug)))


def update_settings(site: Site, changes: dict) -> Site:
    site.settings = {**(site.settings or {}), **changes}
    db.session.commit()
    return site
