"""Ending every session and token of a user at once, on the server.

A user's ``session_version`` is part of everything that proves who they are without a
database row of its own: the staff session cookie (through ``User.get_id``) and guest author
tokens. Bumping it, and revoking the stored reader sessions, ends them all. It is done on
sign-out, a new password, a role change, deactivation and staff creation for an existing email.
"""
from __future__ import annotations

from sqlalchemy import update

from discuss.extensions import db
from discuss.models import ReaderSession, User, utcnow


def end_all_sessions(user: User, keep_token_hash: str | None = None) -> None:
    """Invalidate the user's sessions and tokens (except one reader session, if named). Caller commits."""
    user.session_version = (user.session_version or 0) + 1
    if user.id is None:
        return
    query = update(ReaderSession).where(ReaderSession.user_id == user.id, ReaderSession.revoked_at.is_(None))
    if keep_token_hash:
        query = query.where(ReaderSession.token_hash != keep_token_hash)
    db.session.execute(query.values(revoked_at=utcnow()))


def session_id_matches(user: User | None, version: object) -> bool:
    """Whether a credential issued at ``version`` is still good for ``user``."""
    return (user is not None and user.is_active_account and isinstance(version, int)
            and not isinstance(version, bool) and version == (user.session_version or 0))


MAX_ID = 2**31 - 1  # ids are 32-bit INTEGER columns on PostgreSQL


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's loader: ``"<id>:<version>"``, refused once the version moved on."""
    user_part, _, version_part = (session_id or "").partition(":")
    if not (user_part.isascii() and user_part.isdigit() and version_part.isascii() and version_part.isdigit()):
        return None
    user_id, version = int(user_part), int(version_part)
    if user_id > MAX_ID:
        return None
    user = db.session.get(User, user_id)
    return user if session_id_matches(user, version) else None
