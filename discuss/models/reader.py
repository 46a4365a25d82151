"""Reader identity: revocable sign-in sessions and a record of notifications already sent."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from discuss.extensions import db
from discuss.models.types import UTCDateTime, utcnow
from discuss.models.user import User


class ReaderSession(db.Model):
    """A bearer token issued after sign-in or SSO. Only a SHA-256 of the token is stored."""

    __table_args__ = (Index("ix_reader_session_user", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # How the reader signed in: "password" or "sso" (then site_id names the vouching site).
    method: Mapped[str] = mapped_column(String(16))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def active_at(self, moment: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > moment


class SentNotification(db.Model):
    """One row per (kind, comment, recipient): a reply is announced at most once, whatever
    path published it (post, edit, moderator approval, rescoring)."""

    __table_args__ = (UniqueConstraint("kind", "comment_id", "user_id", name="uq_sent_notification"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    comment_id: Mapped[int] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PendingRegistration(db.Model):
    """A sign-up waiting for its owner to open the emailed link. No account exists until then, so
    registering an address reveals nothing about it, and nobody can claim an address (or set its
    password) without its mailbox. Only a SHA-256 of the link's token is stored."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    language: Mapped[str | None] = mapped_column(String(16))  # the widget's, for the account it becomes
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
