"""Staff accounts, who may act where, and per-site API tokens for the moderation API."""
from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from discuss.errors import ApiError, Forbidden, ValidationFailed
from discuss.locales import N_
from discuss.extensions import db
from discuss.identity.revocation import end_all_sessions
from discuss.identity.staff_audit import CLI_LABEL, record_staff_event, staff_state
from discuss.models import AuthorKind, Role, Site, User
from discuss.models.queries import site_by_slug

API_TOKEN_PREFIX = "dsk_"
MIN_PASSWORD_CHARS = 10
# A valid hash nobody's password matches: checking it keeps a miss as slow as a hit.
_DUMMY_HASH = generate_password_hash("not-a-real-password-" + secrets.token_hex(8))


@dataclass(frozen=True)
class Actor:
    """Who is acting: a staff user, or a site's API token. Services check scope through this."""

    user: User | None
    label: str
    site_ids: frozenset[int] | None  # None: every site

    @classmethod
    def for_user(cls, user: User) -> "Actor":
        if not user.is_staff:
            raise Forbidden(N_("Staff only."))
        sites = None if user.role == Role.ADMIN else frozenset(user.moderated_site_ids or [])
        return cls(user=user, label=f"staff:{user.id}", site_ids=sites)

    @classmethod
    def for_site_token(cls, site: Site) -> "Actor":
        return cls(user=None, label=f"api:{site.slug}", site_ids=frozenset([site.id]))

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.role == Role.ADMIN

    def can_moderate(self, site_id: int) -> bool:
        return self.site_ids is None or site_id in self.site_ids

    def require_site(self, site_id: int) -> None:
        if not self.can_moderate(site_id):
            raise Forbidden(N_("You do not moderate this site."))

    def can_configure(self, site_id: int) -> bool:
        """Admins configure every site; a site's own API token configures that site."""
        return self.is_admin or (self.user is None and self.can_moderate(site_id))


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def find_staff_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalize_email(email),
                                                User.role.in_([Role.MODERATOR, Role.ADMIN])))


def authenticate(email: str, password: str) -> User | None:
    """The staff user these credentials belong to, or None. Same work either way."""
    user = find_staff_by_email(email)
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    return user if user.is_active_account else None


def create_staff(email: str, password: str, *, admin: bool = False, site_ids: list[int] | None = None,
                 display_name: str | None = None) -> User:
    """Create a staff account, or promote/extend an existing one with the same email."""
    email = normalize_email(email)
    if "@" not in email:
        raise ValidationFailed({"email": N_("enter an email address")})
    if len(password or "") < MIN_PASSWORD_CHARS:
        raise ValidationFailed({"password": f"use at least {MIN_PASSWORD_CHARS} characters"})
    user = find_staff_by_email(email) or db.session.scalar(
        select(User).where(func.lower(User.email) == email, User.kind == AuthorKind.ACCOUNT))
    was_staff = user is not None and user.is_staff
    old = staff_state(user) if user is not None else None
    if user is None:
        user = User(kind=AuthorKind.ACCOUNT, email=email, display_name=display_name or email.split("@")[0],
                    moderated_site_ids=[])
        db.session.add(user)
    else:
        # The account gains staff rights and a new password: whatever session or token it held
        # was granted for less, and may be in someone else's hands. End them all.
        end_all_sessions(user)
    user.role = Role.ADMIN if admin or user.role == Role.ADMIN else Role.MODERATOR
    user.moderated_site_ids = sorted(set(user.moderated_site_ids or []) | set(site_ids or []))
    user.password_hash = generate_password_hash(password)
    user.is_active_account = True
    db.session.flush()
    record_staff_event("update" if was_staff else "create", user, actor_label=CLI_LABEL, old=old)
    db.session.commit()
    return user


def sign_out(user: User) -> None:
    """Staff sign-out ends every session of this account on the server, not just this cookie."""
    end_all_sessions(user)
    db.session.commit()


def name_key(name: str) -> str:
    """Compatibility-folded, case-folded, no spaces: "Ｅditor  Ann" and "editorann" are one name."""
    return "".join(unicodedata.normalize("NFKC", name or "").casefold().split())


# Built once: every guest post asks (a prebuilt statement skips rebuilding it; issue 19).
_STAFF_NAMES = select(User.display_name).where(User.role.in_([Role.MODERATOR, Role.ADMIN]),
                                               User.id != bindparam("user_id"))


def staff_name_taken(name: str, user_id: int | None = None) -> bool:
    """Whether ``name`` is a staff member's display name (other than ``user_id``'s own): readers
    may not post under it, so nobody can pass for a moderator."""
    key = name_key(name)
    if not key:
        return False
    names = db.session.scalars(_STAFF_NAMES, {"user_id": user_id or -1})
    return any(name_key(existing) == key for existing in names)


def set_digest(email: str, on: bool) -> User | None:
    """Subscribe a staff account to the pending-queue digest, or unsubscribe it."""
    user = find_staff_by_email(email)
    if user is not None:
        user.notify_digest = on
        db.session.commit()
    return user


def moderated_sites(actor: Actor) -> list[Site]:
    query = select(Site).order_by(Site.slug)
    if actor.site_ids is not None:
        query = query.where(Site.id.in_(actor.site_ids or [-1]))
    return list(db.session.scalars(query))


def _token_hash(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(site: Site) -> str:
    """Replace the site's API token; the returned value is shown once and never stored."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    site.api_token_hash = _token_hash(token)
    db.session.commit()
    return token


def revoke_api_token(site: Site) -> None:
    site.api_token_hash = None
    db.session.commit()


def site_for_api_token(token: str) -> Site | None:
    if not token.startswith(API_TOKEN_PREFIX) or len(token) > 200:
        return None
    return db.session.scalar(select(Site).where(Site.api_token_hash == _token_hash(token)))


def sites_by_slug(actor: Actor) -> dict[str, Site]:
    return {site.slug: site for site in moderated_sites(actor)}


def configurable_site(actor: Actor, slug: str) -> Site:
    """The site an actor may change settings of; a site they do not moderate looks missing."""
    site = site_by_slug(slug)
    if site is None or not actor.can_moderate(site.id):
        raise ApiError("not_found", f"No site '{slug}'.", 404)
    if not actor.can_configure(site.id):
        raise Forbidden(N_("Only admins change site settings."))
    return site


def check_language(code: str | None) -> None:
    """400 naming the field unless code is None or a shipped language."""
    from discuss.locales import LANGUAGES

    if code is not None and code not in LANGUAGES:
        raise ValidationFailed({"language": N_("one of: %(choices)s", choices=", ".join(LANGUAGES))})


def set_language(user: User, code: str | None) -> User:
    """A staff member's (or reader's) language: the dashboard's and their emails'. Empty: none
    (the browser's language for pages, English or the site's for emails)."""
    code = (code or "").strip() or None
    check_language(code)
    user.language = code
    db.session.commit()
    return user
