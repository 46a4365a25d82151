from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from discuss.extensions import db
from discuss.models.settings import merged_settings
from discuss.models.types import UTCDateTime, utcnow


class Site(db.Model):
    """A publisher's site: its embed origins and its moderation settings."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Only the values a site changed; read through effective_settings() to get defaults.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sso_secret: Mapped[str | None] = mapped_column(String(128))
    api_token_hash: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def effective_settings(self) -> dict[str, Any]:
        return merged_settings(self.settings or {})

    def allows_origin(self, origin: str | None) -> bool:
        return bool(origin) and origin.rstrip("/") in {o.rstrip("/") for o in self.allowed_origins or []}

    def allows_article_url(self, url: str) -> bool:
        """Whether ``url`` is on one of the site's allowed origins (where its articles live)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        return origin in {o.rstrip("/").lower() for o in self.allowed_origins or []}


class Thread(db.Model):
    """One discussion per (site, article id)."""

    __table_args__ = (UniqueConstraint("site_id", "article_id", name="uq_thread_site_article"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    article_id: Mapped[str] = mapped_column(String(512))
    url: Mapped[str | None] = mapped_column(String(2048))
    title: Mapped[str | None] = mapped_column(String(512))
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    is_premoderated: Mapped[bool] = mapped_column(Boolean, default=False)
    published_count: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped on every change readers can see; read caches key on it, so several
    # processes stay coherent without sharing memory.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    site: Mapped[Site] = relationship()
