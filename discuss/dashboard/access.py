"""Who is asking: staff sessions for the dashboard, staff sessions or site tokens for the API."""
from __future__ import annotations

from functools import wraps

from flask import abort, g, redirect, request, url_for
from flask_login import current_user

from discuss.errors import ApiError, Forbidden
from discuss.models import Site
from discuss.services import staff as staff_service
from discuss.services.staff import Actor


def staff_page(view):
    """Dashboard pages: anonymous visitors go to the login page; non-staff get 403."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if not current_user.is_staff or not current_user.is_active_account:
            abort(403)
        g.actor = Actor.for_user(current_user._get_current_object())
        return view(*args, **kwargs)
    return wrapper


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip().startswith(staff_service.API_TOKEN_PREFIX):
        return None
    return token.strip()


def api_actor() -> Actor:
    """A site token (header ``Authorization: Bearer dsk_...``) or a staff session, else 401/403."""
    token = bearer_token()
    if token is not None:
        site = staff_service.site_for_api_token(token)
        if site is None:
            raise ApiError("invalid_token", "That API token is not valid.", 401)
        return Actor.for_site_token(site)
    if not current_user.is_authenticated:
        raise ApiError("unauthorized", "Sign in as staff or send a site API token.", 401)
    if not current_user.is_staff or not current_user.is_active_account:
        raise Forbidden("Staff only.")
    return Actor.for_user(current_user._get_current_object())


def sites_by_slug(actor: Actor) -> dict[str, Site]:
    return {site.slug: site for site in staff_service.moderated_sites(actor)}


def configurable_site(actor: Actor, slug: str) -> Site:
    site = staff_service.require_site_by_slug(slug)
    if not actor.can_moderate(site.id):
        raise ApiError("not_found", f"No site '{slug}'.", 404)
    if not actor.can_configure(site.id):
        raise Forbidden("Only admins change site settings.")
    return site
