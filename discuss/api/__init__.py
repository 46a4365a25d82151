"""Public JSON API, /api/v1."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from discuss.api import comments, counts, live, openapi, readers  # noqa: E402,F401  (routes register on import)
