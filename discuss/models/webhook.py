"""Outgoing webhooks: a site's endpoints and the log of every delivery attempt."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from discuss.extensions import db
from discuss.models.site import Site
from discuss.models.types import UTCDateTime, utcnow

EVENTS = ("comment.published", "comment.held", "comment.rejected", "comment.edited",
          "comment.deleted", "comment.reported")
TEST_EVENT = "webhook.test"
FORMATS = ("json", "slack")
# A Slack incoming webhook is for the moderators' desk: what needs a human.
SLACK_DEFAULT_EVENTS = ("comment.held", "comment.reported")


class Webhook(db.Model):
    """One receiver URL of one site. The secret signs every body (HMAC-SHA256); it is kept in
    the clear because signing needs it, and shown to a person only once, when created."""

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str] = mapped_column(String(128))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    format: Mapped[str] = mapped_column(String(16), default="json")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    site: Mapped[Site] = relationship()


class WebhookDelivery(db.Model):
    """One attempt to deliver one event: a delivery (one X-Discuss-Delivery id) has 1..N rows."""

    __table_args__ = (Index("ix_webhook_delivery_hook_created", "webhook_id", "created_at"),
                      Index("ix_webhook_delivery_delivery", "delivery_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id", ondelete="CASCADE"))
    delivery_id: Mapped[str] = mapped_column(String(36))
    event: Mapped[str] = mapped_column(String(32))
    attempt: Mapped[int] = mapped_column(Integer)
    # "delivered", "retrying" (failed, another attempt follows) or "failed" (gave up).
    result: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
