"""Managing staff from the dashboard: invites by one-time link, roles per site, deactivation,
last seen; and password reset links for readers and staff.

Invite and reset links are signed tokens naming the user and their ``session_version``. Using one
bumps the version, so each link works once, and so does every dashboard session issued before it
(Flask-Login's id is ``id:version``, checked on every request). The CLI (``create-moderator``)
stays for the first admin and for scripts.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from discuss.errors import ApiError, Forbidden, NotFound, ValidationFailed
from discuss.locales import N_
from discuss.extensions import db
from discuss.identity.readers import _check_password, _clean_name
from discuss.identity.revocation import end_all_sessions
from discuss.identity.staff import Actor, normalize_email, staff_name_taken
from discuss.identity.staff_audit import record_staff_event, staff_state
from discuss.models import AuthorKind, Role, Site, User, utcnow

INVITE_SALT = "discuss.staff-invite"
RESET_SALT = "discuss.password-reset"
INVITE_MAX_AGE = 7 * 24 * 3600
RESET_MAX_AGE = 3600
STAFF_ROLES = {"moderator": Role.MODERATOR, "admin": Role.ADMIN}
LAST_SEEN_EVERY = timedelta(minutes=1)


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def link_token(user: User, salt: str) -> str:
    return _serializer(salt).dumps({"u": user.id, "v": user.session_version or 0})


def user_for_link(token: str, salt: str, max_age: int) -> User:
    """The user a one-time link belongs to; 400 if it expired, was used, or was never valid."""
    try:
        payload = _serializer(salt).loads(token or "", max_age=max_age)
    except SignatureExpired:
        raise ApiError("link_expired", N_("This link has expired. Ask for a new one."), 400) from None
    except BadSignature:
        raise ApiError("invalid_link", N_("This link is not valid."), 400) from None
    user = db.session.get(User, payload.get("u")) if isinstance(payload, dict) else None
    if user is None or not user.is_active_account or payload.get("v") != (user.session_version or 0):
        raise ApiError("invalid_link", N_("This link was already used or replaced by a newer one."), 400)
    return user


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden(N_("Only admins manage staff."))


def _clean_roles(role: str, site_ids: list[int] | None) -> tuple[Role, list[int]]:
    if role not in STAFF_ROLES:
        raise ValidationFailed({"role": N_("moderator or admin")})
    ids = sorted({int(i) for i in site_ids or []})
    known = set(db.session.scalars(select(Site.id).where(Site.id.in_(ids or [-1]))))
    if set(ids) - known:
        raise ValidationFailed({"sites": N_("unknown site")})
    if role == "moderator" and not ids:
        raise ValidationFailed({"sites": N_("a moderator needs at least one site")})
    return STAFF_ROLES[role], ids if role == "moderator" else []


def invite_staff(actor: Actor, email: str, role: str, site_ids: list[int] | None) -> tuple[User, str]:
    """Create (or promote) a staff account without a password; returns it and its invite token."""
    _require_admin(actor)
    email = normalize_email(email)
    if "@" not in email or len(email) > 254:
        raise ValidationFailed({"email": N_("enter an email address")})
    staff_role, ids = _clean_roles(role, site_ids)
    user = db.session.scalar(select(User).where(func.lower(User.email) == email,
                                                User.kind == AuthorKind.ACCOUNT).limit(1))
    if user is not None and user.is_staff:
        raise ApiError("staff_exists", N_("%(email)s is already staff; change their roles instead.", email=email), 409)
    old = staff_state(user) if user is not None else None
    if user is None:
        user = User(kind=AuthorKind.ACCOUNT, email=email, display_name=email.split("@")[0][:64],
                    moderated_site_ids=[])
        db.session.add(user)
    else:  # a reader becoming staff: nothing they signed in with as a reader carries over
        end_all_sessions(user)
    user.role, user.moderated_site_ids, user.is_active_account = staff_role, ids, True
    db.session.flush()
    record_staff_event("invite", user, actor=actor.user, actor_label=actor.label, old=old)
    db.session.commit()
    return user, link_token(user, INVITE_SALT)


def invited_user(token: str) -> User:
    user = user_for_link(token, INVITE_SALT, INVITE_MAX_AGE)
    if not user.is_staff:
        raise ApiError("invalid_link", N_("This invitation is no longer valid."), 400)
    return user


def accept_invite(token: str, display_name: str, password: str) -> User:
    """First sign-in from the invite: choose a name and a password. The link then stops working."""
    user = invited_user(token)
    name = _clean_name(display_name)
    if staff_name_taken(name, user.id):
        raise ValidationFailed({"display_name": N_("another member of staff uses this name")})
    _check_password(password)
    user.display_name = name
    user.password_hash = generate_password_hash(password)
    user.email_verified = True
    end_all_sessions(user)
    record_staff_event("accept_invite", user, actor=user)  # who holds the new staff account, and when
    db.session.commit()
    return user


def staff_member(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not user.is_staff:
        raise NotFound(N_("staff member"))
    return user


def set_roles(actor: Actor, user_id: int, role: str, site_ids: list[int] | None) -> User:
    _require_admin(actor)
    user = staff_member(user_id)
    if actor.user is not None and user.id == actor.user.id and role != "admin":
        raise ApiError("own_role", N_("You cannot take away your own admin role."), 409)
    old = staff_state(user)
    new_role, user.moderated_site_ids = _clean_roles(role, site_ids)
    if new_role != user.role:  # a role change ends every session, as on every other privilege change
        end_all_sessions(user)
    user.role = new_role
    if staff_state(user) != old:
        record_staff_event("roles", user, actor=actor.user, actor_label=actor.label, old=old)
    db.session.commit()
    return user


def set_active(actor: Actor, user_id: int, active: bool) -> User:
    """Deactivate (sign out everywhere: dashboard sessions and reader sessions) or reactivate."""
    _require_admin(actor)
    user = staff_member(user_id)
    if actor.user is not None and user.id == actor.user.id:
        raise ApiError("own_account", N_("You cannot deactivate your own account."), 409)
    old = staff_state(user)
    user.is_active_account = active
    if not active:
        end_all_sessions(user)
    if old["active"] != active:
        record_staff_event("reactivate" if active else "deactivate", user, actor=actor.user,
                           actor_label=actor.label, old=old)
    db.session.commit()
    return user


def list_staff() -> list[User]:
    return list(db.session.scalars(select(User).where(User.role.in_([Role.MODERATOR, Role.ADMIN]))
                                   .order_by(User.is_active_account.desc(), User.display_name)))


def touch_last_seen(user: User) -> None:
    now = utcnow()
    if user.last_seen_at is None or now - user.last_seen_at >= LAST_SEEN_EVERY:
        user.last_seen_at = now
        db.session.commit()


# -- password reset (readers with an account, and staff) -------------------------------------------

def reset_candidate(email: str) -> tuple[User, str] | None:
    """The account a reset link would go to, and the link's token; None (say nothing) otherwise."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == normalize_email(email),
                                                User.kind == AuthorKind.ACCOUNT).limit(1))
    if user is None or not user.is_active_account:
        return None
    return user, link_token(user, RESET_SALT)


def reset_password(token: str, password: str) -> User:
    """Set a new password from a reset link: every session ends and the link stops working."""
    user = user_for_link(token, RESET_SALT, RESET_MAX_AGE)
    _check_password(password)
    user.password_hash = generate_password_hash(password)
    end_all_sessions(user)
    if user.is_staff:  # a staff account taken over through its mailbox shows up here
        record_staff_event("password_reset", user, actor=user)
    db.session.commit()
    return user
