"""Reader accounts and sessions: register, sign in and out, profile, email verification.

A session is a bearer token (``drs_`` + 256 random bits) the widget keeps and sends as
``Authorization: Bearer``; only its SHA-256 is stored, so a database leak yields no tokens.
Guest author tokens (signed, no prefix) and the dashboard's site API tokens (``dsk_``) are
different kinds and never resolve here.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from discuss.errors import ApiError, Forbidden, ValidationFailed
from discuss.locales import N_
from discuss.extensions import db
from discuss.locales import LANGUAGES
from discuss.identity.revocation import end_all_sessions
from discuss.identity.tokens import register_bearer_resolver
from discuss.models import AuthorKind, ReaderSession, Site, User, utcnow
from discuss.sanitize import normalize_name
from discuss.identity.staff import MIN_PASSWORD_CHARS, normalize_email, staff_name_taken

SESSION_PREFIX = "drs_"
VERIFY_SALT = "discuss.verify-email"
MAX_PASSWORD_CHARS = 1024
# Checked on a miss so an unknown email costs as much as a wrong password.
_DUMMY_HASH = generate_password_hash("dummy-" + secrets.token_hex(8))


@dataclass
class SignedIn:
    user: User
    token: str
    expires_at: datetime


# -- sessions ----------------------------------------------------------------------------------

def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, method: str, site: Site | None = None) -> SignedIn:
    """Issue a bearer token for ``user``. The caller's transaction is committed here."""
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(days=int(current_app.config["READER_SESSION_DAYS"]))
    db.session.add(ReaderSession(user_id=user.id, token_hash=_hash(token), method=method,
                                 site_id=site.id if site else None, expires_at=expires))
    db.session.commit()
    return SignedIn(user, token, expires)


def session_for_token(token: str) -> ReaderSession | None:
    if not token.startswith(SESSION_PREFIX) or len(token) > 200:
        return None
    entry = db.session.scalar(select(ReaderSession).where(ReaderSession.token_hash == _hash(token)))
    if entry is None or not entry.active_at(utcnow()) or not entry.user.is_active_account:
        return None
    return entry


def user_for_session_token(token: str) -> User | None:
    entry = session_for_token(token)
    return entry.user if entry is not None else None


register_bearer_resolver(user_for_session_token)


def end_session(token: str | None) -> bool:
    """Sign out: revoke every session and token of the reader behind ``token`` (every device);
    False if it was not an active session token."""
    entry = session_for_token(token or "")
    if entry is None:
        return False
    end_all_sessions(entry.user)
    db.session.commit()
    return True


def revoke_sessions(user_id: int, keep_token: str | None = None) -> int:
    """Revoke every active session of a user (except ``keep_token``). Caller commits."""
    query = update(ReaderSession).where(ReaderSession.user_id == user_id, ReaderSession.revoked_at.is_(None))
    if keep_token:
        query = query.where(ReaderSession.token_hash != _hash(keep_token))
    return db.session.execute(query.values(revoked_at=utcnow())).rowcount


# -- accounts ----------------------------------------------------------------------------------

def _clean_name(name: str | None) -> str:
    cleaned = normalize_name(name or "")
    limit = current_app.config["MAX_NAME_CHARS"]
    if not cleaned:
        raise ValidationFailed({"display_name": N_("must not be empty")})
    if len(cleaned) > limit:
        raise ValidationFailed({"display_name": N_("must be at most %(num)s characters", num=limit)})
    return cleaned


def _check_password(password: str, field: str = "password") -> None:
    if not MIN_PASSWORD_CHARS <= len(password or "") <= MAX_PASSWORD_CHARS:
        raise ValidationFailed({field: N_("use %(low)s to %(high)s characters", low=MIN_PASSWORD_CHARS, high=MAX_PASSWORD_CHARS)})


def find_account(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalize_email(email),
                                                User.kind == AuthorKind.ACCOUNT).limit(1))


def authenticate(email: str, password: str) -> SignedIn:
    user = find_account(email)
    if user is None or not user.password_hash or not user.is_active_account:
        check_password_hash(_DUMMY_HASH, password or "")
        raise _bad_credentials()
    if not check_password_hash(user.password_hash, password or ""):
        raise _bad_credentials()
    return start_session(user, "password")


def _bad_credentials() -> ApiError:
    return ApiError("invalid_credentials", "That email and password do not match an account.", 401)


def require_account(user: User | None) -> User:
    if user is None:
        raise ApiError("sign_in_required", "Please sign in first.", 401)
    return user


def change_password(user: User, current: str, new: str, keep_token: str | None) -> None:
    """Set a new password and sign out every other session of this reader."""
    if user.kind is not AuthorKind.ACCOUNT or not user.password_hash:
        raise Forbidden("This account has no password here.", "no_password")
    if not check_password_hash(user.password_hash, current or ""):
        raise ApiError("invalid_credentials", "The current password is not right.", 401,
                       fields={"current_password": "does not match"})
    _check_password(new, "new_password")
    user.password_hash = generate_password_hash(new)
    end_all_sessions(user, keep_token_hash=_hash(keep_token) if keep_token else None)
    db.session.commit()


def update_profile(user: User, *, display_name: str | None = None, notify_replies: bool | None = None,
                   notify_digest: bool | None = None) -> User:
    if display_name is not None:
        if user.kind is AuthorKind.SSO:
            raise Forbidden("Your name comes from the publisher's site; change it there.", "managed_by_publisher")
        name = _clean_name(display_name)
        if not user.is_staff and staff_name_taken(name, user.id):
            raise ValidationFailed({"display_name": "this name belongs to a member of staff; choose another"})
        user.display_name = name
    if notify_replies is not None:
        user.notify_replies = notify_replies
    if notify_digest is not None:
        if not user.is_staff:
            raise Forbidden("The moderation digest is for moderators.", "staff_only")
        user.notify_digest = notify_digest
    db.session.commit()
    return user


# -- email verification ------------------------------------------------------------------------

def _verify_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=VERIFY_SALT)


def verification_token(user: User) -> str:
    # Binding the address means a link stops working if the email changes.
    return _verify_serializer().dumps({"u": user.id, "e": user.email})


def verify_email(token: str) -> User:
    max_age = int(current_app.config["EMAIL_VERIFY_MAX_AGE_HOURS"]) * 3600
    try:
        payload = _verify_serializer().loads(token or "", max_age=max_age)
    except SignatureExpired:
        raise ApiError("link_expired", "This verification link has expired. Ask for a new one.", 400) from None
    except BadSignature:
        raise ApiError("invalid_link", "This verification link is not valid.", 400) from None
    user = db.session.get(User, payload.get("u")) if isinstance(payload, dict) else None
    if user is None or not user.is_active_account or user.email != payload.get("e"):
        raise ApiError("invalid_link", "This verification link is not valid.", 400)
    user.email_verified = True
    db.session.commit()
    return user


def public_viewer(user: User) -> dict:
    """What the widget may show about the signed-in reader. Never the email address."""
    return {"id": user.id, "name": user.display_name, "kind": user.kind.value, "avatar_url": user.avatar_url,
            "has_email": bool(user.email), "email_verified": bool(user.email_verified),
            "notify_replies": bool(user.notify_replies), "is_staff": user.is_staff}
