"""Signing up for a comment account without telling anyone which addresses have one.

``register`` answers the same for every address: the caller says "check your email". A new
address gets a PendingRegistration and a link that creates the account (``confirm``); an address
that already has an account gets no new row, and its owner is told by email that someone tried
to register with it (with a sign-in and a password-reset link). Both paths hash the password, so
they also take the same time. Until its link is opened a sign-up is not an account: it cannot
sign in, and whoever registers an address they do not own gets nothing.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select
from werkzeug.security import generate_password_hash

from discuss.errors import ApiError, ValidationFailed
from discuss.extensions import db
from discuss.identity.readers import _check_password, _clean_name, find_account
from discuss.identity.staff import check_language, normalize_email, staff_name_taken
from discuss.models import AuthorKind, PendingRegistration, User, utcnow


@dataclass
class Registration:
    email: str
    display_name: str
    token: str | None = None          # a new address: the confirmation link's token
    existing: User | None = None      # an address with an account: tell its owner instead
    language: str | None = None       # the widget's language: the link's email and the account use it


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_input(email: str, password: str, display_name: str, language: str | None = None) -> tuple[str, str]:
    """The address and name as they will be stored; 400 with the field at fault, for every address alike."""
    check_language(language)
    name = _clean_name(display_name)
    if staff_name_taken(name):
        raise ValidationFailed({"display_name": "this name belongs to a member of staff; choose another"})
    _check_password(password)
    return normalize_email(email), name


def register(email: str, password: str, display_name: str, language: str | None = None) -> Registration:
    """Validate, then either start a sign-up (new address) or name the existing account. Commits."""
    email, name = check_input(email, password, display_name, language)
    password_hash = generate_password_hash(password)  # on both paths, so both take as long
    existing = find_account(email)
    if existing is not None:
        return Registration(email, name, existing=existing if existing.is_active_account else None)
    purge_expired()
    token = secrets.token_urlsafe(32)
    hours = int(current_app.config["EMAIL_VERIFY_MAX_AGE_HOURS"])
    db.session.add(PendingRegistration(token_hash=_hash(token), email=email, display_name=name,
                                       password_hash=password_hash, language=language,
                                       expires_at=utcnow() + timedelta(hours=hours)))
    db.session.commit()
    return Registration(email, name, token=token, language=language)


def confirm(token: str) -> User:
    """Create the account from an emailed link (its address is thereby verified). Commits."""
    pending = db.session.scalar(select(PendingRegistration)
                                .where(PendingRegistration.token_hash == _hash(token or "")))
    if pending is None:
        raise ApiError("invalid_link", "This link is not valid, or was already used. Sign in, or register again.",
                       400)
    if pending.expires_at <= utcnow():
        db.session.delete(pending)
        db.session.commit()
        raise ApiError("link_expired", "This link has expired. Register again to get a new one.", 400)
    email = pending.email
    # Every sign-up for this address ends here: one account per address, from one link.
    db.session.execute(delete(PendingRegistration).where(PendingRegistration.email == email))
    if find_account(email) is not None:
        db.session.commit()
        raise ApiError("invalid_link", "This address already has an account. Sign in instead.", 400)
    user = User(kind=AuthorKind.ACCOUNT, email=email, display_name=pending.display_name,
                password_hash=pending.password_hash, email_verified=True, moderated_site_ids=[],
                language=pending.language)
    db.session.add(user)
    db.session.commit()
    return user


def purge_expired() -> int:
    """Drop sign-ups whose link has expired. Caller commits."""
    return db.session.execute(delete(PendingRegistration)
                              .where(PendingRegistration.expires_at <= utcnow())).rowcount or 0
