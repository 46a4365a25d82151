"""Publisher single sign-on: verify a site-signed JWT, create or update the reader, sign them in.

The publisher's backend signs ``{sub, name, email?, avatar?, exp, iat?, aud|site}`` with
HS256 and the site's secret. Only HS256 is accepted (never ``none``, never an asymmetric
algorithm that could be confused with the shared secret), ``exp`` is required and must be
near, and the token must name the site it is presented to.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from discuss.errors import ApiError, Forbidden
from discuss.extensions import db
from discuss.models import AuthorKind, Site, User, utcnow
from discuss.sanitize import EMAIL_PATTERN, normalize_name
from discuss.security import storable_text
from discuss.identity.readers import SignedIn, start_session
from discuss.models.queries import site_by_slug

ALGORITHM = "HS256"
MAX_TOKEN_CHARS = 8192
EMAIL_RE = re.compile(EMAIL_PATTERN)  # the same shape the API accepts


@dataclass(frozen=True)
class SsoClaims:
    external_id: str
    name: str
    email: str | None
    avatar_url: str | None


def _refuse(code: str, message: str, status: int = 401, fields: dict[str, str] | None = None) -> ApiError:
    return ApiError(code, message, status, fields=fields)


# -- secrets -----------------------------------------------------------------------------------

def set_sso_secret(site: Site, rotate: bool = False) -> str:
    """Create (or with ``rotate`` replace) a site's signing secret; returned once, for the admin."""
    if site.sso_secret and not rotate:
        raise _refuse("sso_secret_exists", "This site already has an SSO secret; rotate it to get a new one.", 409)
    site.sso_secret = secrets.token_urlsafe(48)
    db.session.commit()
    return site.sso_secret


# -- verification ------------------------------------------------------------------------------

def verify_token(site: Site, token: str) -> SsoClaims:
    if not site.sso_secret:
        raise _refuse("sso_not_configured", "Single sign-on is not set up for this site.", 400)
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise _refuse("sso_token_malformed", "The sign-on token is not a valid JWT.", 400)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise _refuse("sso_token_malformed", "The sign-on token is not a valid JWT.", 400) from None
    if header.get("alg") != ALGORITHM:
        raise _refuse("sso_algorithm_not_allowed", f"Sign-on tokens must be signed with {ALGORITHM}.")
    claims = _decode(site, token)
    _check_site(site, claims)
    _check_lifetime(claims)
    return _profile(claims)


def _decode(site: Site, token: str) -> dict[str, Any]:
    config = current_app.config
    try:
        return jwt.decode(token, site.sso_secret, algorithms=[ALGORITHM], leeway=int(config["SSO_LEEWAY_SECONDS"]),
                          options={"require": ["exp"], "verify_aud": False})
    except jwt.ExpiredSignatureError:
        raise _refuse("sso_token_expired", "The sign-on token has expired. Reload the page to sign in again.") \
            from None
    except jwt.InvalidSignatureError:
        raise _refuse("sso_bad_signature", "The sign-on token's signature does not match this site's secret.") \
            from None
    except jwt.MissingRequiredClaimError as err:
        raise _refuse("sso_missing_claims", "The sign-on token lacks required claims.", 400,
                      {err.claim: "is required"}) from None
    except jwt.ImmatureSignatureError:
        raise _refuse("sso_token_not_yet_valid", "The sign-on token is not valid yet (check the server clock).") \
            from None
    except jwt.InvalidTokenError as err:
        raise _refuse("sso_token_malformed", f"The sign-on token is not valid: {err}.", 400) from None


def _check_site(site: Site, claims: dict[str, Any]) -> None:
    audience = claims.get("aud", claims.get("site"))
    if audience is None:
        raise _refuse("sso_missing_claims", "The sign-on token lacks required claims.", 400,
                      {"aud": "is required (or a 'site' claim): the site slug"})
    audiences = audience if isinstance(audience, list) else [audience]
    if site.slug not in audiences:
        raise _refuse("sso_wrong_site", "This sign-on token was issued for another site.")


def _check_lifetime(claims: dict[str, Any]) -> None:
    limit = int(current_app.config["SSO_MAX_TOKEN_LIFETIME_SECONDS"])
    now = utcnow().timestamp()
    issued = claims.get("iat")
    too_long = claims["exp"] - now > limit or (isinstance(issued, (int, float)) and claims["exp"] - issued > limit)
    if too_long:
        raise _refuse("sso_token_lifetime_too_long", f"Sign-on tokens must expire within {limit} seconds.")


def _profile(claims: dict[str, Any]) -> SsoClaims:
    # A validly signed token can still carry anything JSON can: check each claim's type and that
    # it is text a database can store (no NUL, no lone surrogates) before any of it is used.
    problems: dict[str, str] = {name: "must be valid text (no NUL or lone surrogate characters)"
                                for name in ("sub", "name", "email", "avatar")
                                if isinstance(claims.get(name), str) and not storable_text(claims[name])}
    if problems:
        raise _refuse("sso_invalid_claims", "The sign-on token's claims are missing or not valid.", 400, problems)
    sub = claims.get("sub")
    if isinstance(sub, int) and not isinstance(sub, bool):
        sub = str(sub)
    if not isinstance(sub, str) or not sub.strip() or len(sub) > 256:
        problems["sub"] = "is required: the reader's stable id on your site (a string up to 256 characters)"
    raw_name = claims.get("name")
    name = normalize_name(raw_name)[: current_app.config["MAX_NAME_CHARS"]] if isinstance(raw_name, str) else ""
    if not name:
        problems["name"] = "is required: the reader's display name"
    email = claims.get("email") or None
    if email is not None and (not isinstance(email, str) or len(email) > 254 or not EMAIL_RE.match(email)):
        problems["email"] = "must be an email address"
    avatar = claims.get("avatar") or None
    if avatar is not None and (not isinstance(avatar, str) or len(avatar) > 2048
                               or not avatar.startswith(("https://", "http://"))):
        problems["avatar"] = "must be an http(s) URL"
    if problems:
        code = "sso_missing_claims" if {"sub", "name"} & problems.keys() else "sso_invalid_claims"
        raise _refuse(code, "The sign-on token's claims are missing or not valid.", 400, problems)
    return SsoClaims(sub.strip(), name, email.strip().lower() if email else None, avatar)


# -- sign-in -----------------------------------------------------------------------------------

def sign_in(site_slug: str, token: str) -> tuple[SignedIn, Site]:
    site = site_by_slug(site_slug)
    if site is None:
        raise ApiError("unknown_site", f"No site '{site_slug}' is registered here.", 404)
    if "sso" not in (site.effective_settings().get("allowed_identities") or []):
        raise Forbidden("This site does not accept single sign-on.", "identity_not_allowed")
    claims = verify_token(site, token)
    user = upsert_reader(site, claims)
    return start_session(user, "sso", site), site


def upsert_reader(site: Site, claims: SsoClaims) -> User:
    """The site's reader for ``claims.external_id``, created or refreshed from the token."""
    user = _find(site, claims.external_id)
    if user is None:
        try:
            with db.session.begin_nested():  # the same reader signing in twice at once
                user = User(kind=AuthorKind.SSO, sso_site_id=site.id, external_id=claims.external_id,
                            display_name=claims.name, moderated_site_ids=[])
                db.session.add(user)
        except IntegrityError:
            user = _find(site, claims.external_id)
    if not user.is_active_account:
        raise Forbidden("This account is disabled.", "account_disabled")
    user.display_name = claims.name
    user.avatar_url = claims.avatar_url
    if claims.email != user.email:
        user.email = claims.email
    # The publisher vouches for the address it signs, so it counts as verified.
    user.email_verified = claims.email is not None
    db.session.flush()
    return user


def _find(site: Site, external_id: str) -> User | None:
    return db.session.scalar(select(User).where(User.sso_site_id == site.id, User.external_id == external_id))
