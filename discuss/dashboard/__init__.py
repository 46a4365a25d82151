"""Moderator dashboard (/mod): queue pages, one comment, actions, audit log, site settings."""
from flask import Blueprint, Flask

bp = Blueprint("dashboard", __name__, url_prefix="/mod")


def init_app(app: Flask) -> None:
    from flask_babel import get_locale

    from discuss.dashboard.labels import FILTERS
    from discuss.models.links import permalink

    for name, label in FILTERS.items():
        app.add_template_filter(label, name)
    app.add_template_global(permalink, "permalink")
    app.add_template_global(lambda: str(get_locale() or "en"), "current_locale")


from discuss.dashboard import admin_views, insights_views, profile_views, staff_views, views  # noqa: E402,F401  (routes register on import)
