"""Published counts for many articles in one call (related-articles lists)."""
from flask import current_app, jsonify

from discuss.api import bp, schemas
from discuss.api.cors import check_origin
from discuss.api.helpers import json_body
from discuss.errors import ValidationFailed
from discuss.models.queries import require_site
from discuss.models.queries import published_counts


@bp.post("/counts")
def counts():
    data = json_body(schemas.COUNTS_SCHEMA)
    articles = data["articles"]
    limit = current_app.config["MAX_COUNT_ARTICLES"]
    if not articles or len(articles) > limit or not all(isinstance(a, str) and 0 < len(a) <= 512 for a in articles):
        raise ValidationFailed({"articles": f"must be a list of 1 to {limit} article ids (strings)"})
    site = require_site(data["site"])
    check_origin(site)
    return jsonify({"counts": published_counts(site, list(dict.fromkeys(articles)))})
