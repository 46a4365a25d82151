"""Live updates for open widgets: a cheap, cacheable revision to poll, and the new comments.

``GET /api/v1/live`` is the one request every open widget repeats every few seconds, and almost
always nothing changed. ``LivePolls`` answers it in front of Flask (no routing, sessions, hooks
or rate-limit bookkeeping) whenever this process already knows the thread's state (it refreshes
it from the database at most once a second, through the normal Flask view). The answer is the
same JSON and headers either way.
"""
from __future__ import annotations

from typing import Callable, Iterable
from urllib.parse import parse_qs

from flask import Flask, current_app, jsonify, request
from werkzeug.http import parse_etags

from discuss.api import bp
from discuss.api.cors import check_origin
from discuss.api.helpers import raw_json
from discuss.comments import live, reading
from discuss.errors import ApiError, ValidationFailed
from discuss.security import ID_MAX, parse_int_arg
from discuss import metrics

# Browsers revalidate every time (max-age=0, so a poll that finds nothing is a 304 with no
# body); a shared cache or CDN may answer for a second (s-maxage=1), so the origin sees one
# poll per edge per second whatever the audience.
CACHE_CONTROL = "public, max-age=0, s-maxage=1"


def _thread_args() -> tuple[str, str]:
    site, article = request.args.get("site", ""), request.args.get("article", "")
    problems = {name: "is required" for name, value in (("site", site), ("article", article)) if not value}
    if problems:
        raise ValidationFailed(problems)
    return site, article


@bp.get("/live")
def live_state():
    """``{revision, last_id, published_count, poll_seconds, recent}`` with an ETag (304 when unchanged)."""
    site, article = _thread_args()
    state = live.thread_state(site, article, current_app.config["LIVE_POLL_SECONDS"])
    response = raw_json(state.body)
    response.set_etag(state.etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response.make_conditional(request)


@bp.get("/live/new")
def live_new():
    site_slug, article = _thread_args()
    try:  # ASCII digits within the id range only: anything else is a 400, never a 500
        after = parse_int_arg(request.args.get("after"), 0, ID_MAX) or 0
    except ValueError:
        raise ValidationFailed({"after": "a comment id (a whole number)"}) from None
    site, thread = reading.thread_and_site(site_slug, article)
    if site is None:
        raise ApiError("unknown_site", f"No site '{site_slug}' is registered here.", 404)
    check_origin(site)
    return jsonify({"comments": live.new_comments(site, thread, after)})


class LivePolls:
    """WSGI middleware: answer a live poll from this process's cached state, else pass it on."""

    PATH = "/api/v1/live"

    def __init__(self, wsgi_app: Callable, app: Flask):
        self.wsgi_app = wsgi_app
        self.cache = live.state_cache(app)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == self.PATH and environ.get("REQUEST_METHOD") == "GET":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            key = (query.get("site", [""])[0], query.get("article", [""])[0])
            state = self.cache.get(key) if all(key) else None
            if state is not None:
                return self._answer(environ, start_response, state)
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ: dict, start_response: Callable, state: live.LiveState) -> Iterable[bytes]:
        headers = [("ETag", f'"{state.etag}"'), ("Cache-Control", CACHE_CONTROL), ("X-Content-Type-Options", "nosniff")]
        if parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains(state.etag):
            metrics.REQUESTS.labels(endpoint="api.live_state", method="GET", status="304").inc()
            start_response("304 NOT MODIFIED", headers)
            return [b""]
        body = state.body
        metrics.REQUESTS.labels(endpoint="api.live_state", method="GET", status="200").inc()
        start_response("200 OK", headers + [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def install_live_polls(app: Flask) -> None:
    app.wsgi_app = LivePolls(app.wsgi_app, app)
