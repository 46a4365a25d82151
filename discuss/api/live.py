"""Live updates for open widgets: a cheap, cacheable revision to poll, and the new comments."""
from __future__ import annotations

import json

from flask import current_app, jsonify, request

from discuss.api import bp
from discuss.api.cors import check_origin
from discuss.api.helpers import raw_json
from discuss.comments import live, reading
from discuss.errors import ApiError, ValidationFailed


def _thread_args() -> tuple[str, str]:
    site, article = request.args.get("site", ""), request.args.get("article", "")
    problems = {name: "is required" for name, value in (("site", site), ("article", article)) if not value}
    if problems:
        raise ValidationFailed(problems)
    return site, article


@bp.get("/live")
def live_state():
    """``{revision, last_id, published_count, poll_seconds}`` with an ETag: a poll that finds
    nothing new is a 304 with no body. Browsers revalidate every time (max-age=0); a shared
    cache or CDN may answer for a second (s-maxage=1)."""
    site, article = _thread_args()
    state = live.thread_state(site, article)
    body = json.dumps({**state, "poll_seconds": current_app.config["LIVE_POLL_SECONDS"]},
                      separators=(",", ":")).encode()
    response = raw_json(body)
    response.set_etag(f"{state['revision']}.{state['last_id']}")
    response.headers["Cache-Control"] = "public, max-age=0, s-maxage=1"
    return response.make_conditional(request)


@bp.get("/live/new")
def live_new():
    site_slug, article = _thread_args()
    after = request.args.get("after", "0")
    if not after.isdigit():
        raise ValidationFailed({"after": "a comment id (a whole number)"})
    site, thread = reading.thread_and_site(site_slug, article)
    if site is None:
        raise ApiError("unknown_site", f"No site '{site_slug}' is registered here.", 404)
    check_origin(site)
    return jsonify({"comments": live.new_comments(site, thread, int(after))})
