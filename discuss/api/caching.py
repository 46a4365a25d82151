"""HTTP caching of the public reads (thread pages, counts): who may keep an answer, and for how long.

Anonymous reads are the same for everyone, so browsers, a caching proxy (nginx ``proxy_cache``)
or a CDN may keep them: ``Cache-Control: public, max-age=N, stale-while-revalidate=M`` with
``N`` the site's ``cache_max_age_seconds`` and a strong ``ETag``, so a cache or a browser that
asks again with ``If-None-Match`` gets a 304 (for a thread page, before the page is built).
Answers that carry anything about the caller (a bearer token, a staff session) are never public:
``discuss.security`` turns them into ``private, no-store`` whatever a view said, so no view can
hand one reader's data to a shared cache by mistake.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Response, current_app, request

from discuss.api.helpers import raw_json
from discuss.models import Site


def public_cache_control(site: Site) -> str:
    max_age = int(site.effective_settings().get("cache_max_age_seconds") or 0)
    if max_age <= 0:  # keep it, but ask every time (a 304 when unchanged)
        return "public, no-cache"
    stale = current_app.config["CACHE_STALE_WHILE_REVALIDATE_SECONDS"]
    return f"public, max-age={max_age}, stale-while-revalidate={stale}"


def _mark_public(response: Response, site: Site, etag: str) -> Response:
    response.set_etag(etag)
    response.headers["Cache-Control"] = public_cache_control(site)
    # Shared caches may not reuse an answer for a request with credentials unless told it is
    # public; it is, so the variant must be keyed on them (an Authorization request gets its own).
    response.vary.update(("Origin", "Authorization"))
    return response


def not_modified(site: Site, etag: str) -> Response | None:
    """A 304 when the caller already holds ``etag`` (weak comparison, as RFC 9110 asks for
    If-None-Match: a proxy that compresses may have weakened the tag)."""
    if not request.if_none_match.contains_weak(etag):
        return None
    return _mark_public(Response(status=304), site, etag)


def public_page(encoded: bytes, site: Site, etag: str) -> Response:
    return _mark_public(raw_json(encoded), site, etag)


def public_json(body: dict[str, Any], site: Site) -> Response:
    """A public answer whose ETag is the hash of its bytes (cheap answers: counts)."""
    encoded = json.dumps(body, separators=(",", ":")).encode()
    etag = hashlib.sha256(encoded).hexdigest()[:32]
    return not_modified(site, etag) or public_page(encoded, site, etag)
