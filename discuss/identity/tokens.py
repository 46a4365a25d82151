"""Who is calling: signed author tokens for guests, plus pluggable resolvers for other token kinds.

The widget keeps the token and sends ``Authorization: Bearer <token>``, so readers are
recognised inside a third-party iframe without cookies.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Callable

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from discuss.extensions import db
from discuss.identity.revocation import session_id_matches
from discuss.models import AuthorKind, User

AUTHOR_TOKEN_SALT = "discuss.author-token"

# Other token kinds (reader sessions, SSO) register a resolver: token -> User | None.
BearerResolver = Callable[[str], "User | None"]
_resolvers: list[BearerResolver] = []


def register_bearer_resolver(resolver: BearerResolver) -> None:
    if resolver not in _resolvers:
        _resolvers.append(resolver)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=AUTHOR_TOKEN_SALT)


def issue_author_token(user: User) -> str:
    # "v": the user's session version, so ending their sessions ends this token too.
    return _serializer().dumps({"u": user.id, "v": user.session_version or 0})


def _user_from_author_token(token: str) -> User | None:
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int) or not 0 < payload["u"] < 2**31:
        return None
    user = db.session.get(User, payload["u"])
    # Only guests are identified by author tokens: account and SSO readers sign in with
    # revocable sessions, so a token from their posting days must not outlive a sign-out.
    # Tokens from before session versions carry no "v": they hold until the first revocation.
    if user is None or user.kind is not AuthorKind.GUEST or not session_id_matches(user, payload.get("v", 0)):
        return None
    return user


def user_from_bearer(token: str | None) -> User | None:
    if not token:
        return None
    for resolver in (_user_from_author_token, *_resolvers):
        user = resolver(token)
        if user is not None:
            return user
    return None


def bearer_from_header(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def hash_ip(ip: str | None) -> str | None:
    """Salted hash: lets rate limits, duplicate checks and bans work without storing the IP."""
    if not ip:
        return None
    salt = current_app.config["IP_HASH_SALT"].encode()
    return hmac.new(salt, ip.encode(), hashlib.sha256).hexdigest()[:40]
