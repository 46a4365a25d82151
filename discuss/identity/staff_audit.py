"""The staff audit: one StaffEvent row for every change to who is staff and what they may do.

Written in the same transaction as the change it records (the caller commits), by the CLI
(``create-moderator``, ``init-demo``) and by admins on the staff page. Staff are not scoped to a
site, so these rows live apart from the per-site moderation audit; only admins read them.
"""
from __future__ import annotations

from sqlalchemy import select

from discuss.extensions import db
from discuss.models import StaffEvent, User

CLI_LABEL = "cli"
RECENT = 100


def staff_state(user: User) -> dict:
    """What a staff change can change: compared before and after."""
    return {"role": user.role.value, "sites": sorted(user.moderated_site_ids or []),
            "active": bool(user.is_active_account)}


def record_staff_event(action: str, target: User, *, actor: User | None = None, actor_label: str | None = None,
                       old: dict | None = None, new: dict | None = None) -> StaffEvent:
    details = {"new": new if new is not None else staff_state(target)}
    if old is not None:
        details["old"] = old
    event = StaffEvent(action=action, actor_id=actor.id if actor is not None else None,
                       actor_label=actor_label or (f"staff:{actor.id}" if actor is not None else CLI_LABEL),
                       target_user_id=target.id, target_email=target.email, details=details)
    db.session.add(event)
    return event


def recent_staff_events(limit: int = RECENT) -> list[StaffEvent]:
    return list(db.session.scalars(select(StaffEvent).order_by(StaffEvent.id.desc()).limit(limit)))
