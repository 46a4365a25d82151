"""Moderator dashboard (/mod) and the moderation JSON API (/api/v1/moderation)."""
from flask import Blueprint, Flask

bp = Blueprint("dashboard", __name__, url_prefix="/mod")


def init_app(app: Flask) -> None:
    from discuss.dashboard.api import api_bp
    from discuss.dashboard.presenters import when

    app.register_blueprint(api_bp)
    app.add_template_filter(when, "when")


from discuss.dashboard import admin_views, views  # noqa: E402,F401  (routes register on import)
