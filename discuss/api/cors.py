"""CORS for the public API: only a site's configured origins (and our own) may call it from a browser."""
from __future__ import annotations

from flask import Response, g, request
from sqlalchemy import select

from discuss.errors import ApiError
from discuss.extensions import db
from discuss.models import Site

ALLOWED_HEADERS = "Authorization, Content-Type"
ALLOWED_METHODS = "GET, POST, PATCH, DELETE, OPTIONS"


def own_origin() -> str:
    return request.host_url.rstrip("/")


def origin_allowed_by_any_site(origin: str) -> bool:
    # Preflights carry no body, so we cannot know the site yet: accept an origin that some
    # site allows; the real request is then checked against its own site.
    for origins in db.session.scalars(select(Site.allowed_origins)):
        if origin.rstrip("/") in {o.rstrip("/") for o in origins or []}:
            return True
    return False


def check_origin(site: Site) -> None:
    """Refuse browser calls from origins the site did not allow. Non-browser clients send no Origin."""
    origin = request.headers.get("Origin")
    if not origin or origin == own_origin():
        return
    if not site.allows_origin(origin):
        raise ApiError("origin_not_allowed", f"{origin} may not use this site's comments.", 403)
    g.cors_origin = origin


def preflight() -> Response | None:
    if request.method != "OPTIONS":
        return None
    origin = request.headers.get("Origin")
    response = Response(status=204)
    if origin and (origin == own_origin() or origin_allowed_by_any_site(origin)):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
    response.vary.add("Origin")
    return response


def add_cors_headers(response: Response) -> Response:
    origin = g.pop("cors_origin", None)  # g can outlive the request (tests hold an app context)
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After, X-RateLimit-Remaining"
    response.vary.add("Origin")
    return response
