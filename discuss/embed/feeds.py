"""Atom feeds: /feeds/SLUG.atom (latest comments on the site) and /feeds/SLUG/ARTICLE.atom (one
article). Public, like the comments in them; ETag and conditional GET (304) supported."""
from __future__ import annotations

from flask import Response, request

from discuss.comments import feeds

ATOM = "application/atom+xml; charset=utf-8"


def _answer(etag: str, build) -> Response:
    if etag in request.if_none_match:  # before building: a poller that is up to date costs a 304
        response = Response(status=304)
    else:
        response = Response(build(), mimetype="application/atom+xml")
        response.headers["Content-Type"] = ATOM
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


def register(bp) -> None:
    @bp.get("/feeds/<slug>.atom")
    def site_feed(slug: str):
        site, etag = feeds.site_feed_etag(slug)
        return _answer(etag, lambda: feeds.site_feed(site, request.base_url))

    @bp.get("/feeds/<slug>/<path:article>.atom")
    def article_feed(slug: str, article: str):
        site, thread, etag = feeds.article_feed_etag(slug, article)
        return _answer(etag, lambda: feeds.article_feed(site, thread, request.base_url))
