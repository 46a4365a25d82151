"""Published counts for many articles in one call (related-articles lists).

``GET /counts?site=S&article=A&article=B`` is the cacheable form (a CDN or proxy can keep it,
see discuss/api/caching.py); ``POST /counts`` with a JSON body stays for existing callers.
"""
from flask import current_app, jsonify, request

from discuss.api import bp, schemas
from discuss.api.caching import public_json
from discuss.api.cors import check_origin
from discuss.api.helpers import json_body
from discuss.errors import ValidationFailed
from discuss.models.queries import published_counts, require_site


def _counts_of(site_slug: str, articles) -> tuple:
    limit = current_app.config["MAX_COUNT_ARTICLES"]
    if not articles or len(articles) > limit or not all(isinstance(a, str) and 0 < len(a) <= 512 for a in articles):
        raise ValidationFailed({"articles": f"must be a list of 1 to {limit} article ids (strings)"})
    site = require_site(site_slug)
    check_origin(site)
    return site, {"counts": published_counts(site, list(dict.fromkeys(articles)))}


@bp.post("/counts")
def counts():
    data = json_body(schemas.COUNTS_SCHEMA)
    _, body = _counts_of(data["site"], data["articles"])
    return jsonify(body)


@bp.get("/counts")
def counts_get():
    site_slug = request.args.get("site", "")
    if not site_slug or len(site_slug) > 64:
        raise ValidationFailed({"site": "is required (at most 64 characters)"})
    site, body = _counts_of(site_slug, request.args.getlist("article"))
    return public_json(body, site)
