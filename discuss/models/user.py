from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from discuss.extensions import db
from discuss.models.enums import AuthorKind, Role
from discuss.models.types import UTCDateTime, utcnow


class User(UserMixin, db.Model):
    """Readers (guests, accounts, publisher SSO) and staff, told apart by kind and role."""

    __table_args__ = (UniqueConstraint("sso_site_id", "external_id", name="uq_user_sso_identity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AuthorKind] = mapped_column(Enum(AuthorKind, native_enum=False, length=16))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16), default=Role.READER)
    display_name: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    # For SSO readers: the publisher's stable user id, scoped to the site that vouched for it.
    sso_site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(256))
    avatar_url: Mapped[str | None] = mapped_column(String(2048))
    # Sites a moderator may act on (admins act on all).
    moderated_site_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    notify_replies: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_digest: Mapped[bool] = mapped_column(Boolean, default=False)
    # A code from discuss.locales.LANGUAGES, or None: staff see the dashboard in it (when it is one
    # of DASHBOARD_LANGUAGES) and get their emails in it; readers get their emails in it.
    language: Mapped[str | None] = mapped_column(String(16))
    is_active_account: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped to end every session and token of this user at once (sign-out, new password, new
    # role, deactivation). Staff session cookies and guest author tokens carry the value they
    # were issued with and stop working when it changes.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Staff: last dashboard request (updated at most once a minute).
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def get_id(self) -> str:
        """What Flask-Login keeps in the session cookie: the id and the session version."""
        return f"{self.id}:{self.session_version or 0}"

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.MODERATOR, Role.ADMIN)

    def can_moderate(self, site_id: int) -> bool:
        if self.role == Role.ADMIN:
            return True
        return self.role == Role.MODERATOR and site_id in (self.moderated_site_ids or [])


class Ban(db.Model):
    """A site-scoped ban; ``until`` None means permanent."""

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(500))
    # The author's last IP hash on the site, covered until ip_until (site setting ban_ip_days):
    # a new guest identity from that address is held with reason ban_evasion.
    ip_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    ip_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def active_at(self, moment: datetime) -> bool:
        return self.lifted_at is None and (self.until is None or self.until > moment)


class StaffEvent(db.Model):
    """Audit row for a change to who is staff: an account created or promoted (CLI), an invite,
    a role or site change, a deactivation or reactivation. Staff are not scoped to one site (an
    admin covers all of them), so these rows are not ModerationEvents, which always name a site:
    admins alone see them, on the staff page."""

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # "staff:<id>" for an admin in the dashboard, "cli" for a shell command.
    actor_label: Mapped[str] = mapped_column(String(64))
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    # Kept so the row still says whom it was about if the account is deleted.
    target_email: Mapped[str | None] = mapped_column(String(254))
    # {"old": {"role", "sites", "active"}, "new": {...}}: what changed.
    details: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
