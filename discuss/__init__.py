"""discuss: a self-hosted, embeddable comment service for news sites."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask

from discuss.config import Config


def create_app(config: dict[str, Any] | type | None = None) -> Flask:
    """Application factory.

    ``config`` may be a config class or a mapping of overrides (tests pass a mapping).
    ``DISCUSS_*`` environment variables override the class defaults, and an explicit
    mapping overrides both.
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = Flask(__name__, instance_relative_config=True,
                template_folder=os.path.join(root, "templates"),
                static_folder="static")
    base = config if isinstance(config, type) else Config
    app.config.from_object(base)
    app.config.update(Config.from_env())
    if isinstance(config, dict):
        app.config.update(config)
    _resolve_defaults(app)

    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)

    from discuss.security import install_security_headers
    install_security_headers(app)

    _init_scoring(app)
    return app


def _init_scoring(app: Flask) -> None:
    """Inline mode loads the model in the background of every web process; queue mode leaves
    it to the workers (`flask discuss worker`), so web processes stay small."""
    from discuss.scoring.runtime import EXTENSION_KEY, service_from_config
    from discuss.moderation.rescoring import install_auto_rescore

    service = service_from_config(app)
    app.extensions[EXTENSION_KEY] = service
    if app.config["SCORING"] == "queue":
        return
    if not app.config.get("SCORER"):
        install_auto_rescore(app)
    service.start()


def _resolve_defaults(app: Flask) -> None:
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "discuss.db")
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):  # psycopg 3 is the driver we ship
        app.config["SQLALCHEMY_DATABASE_URI"] = uri.replace("postgresql://", "postgresql+psycopg://", 1)
    if uri.startswith("sqlite"):
        # WAL lets readers proceed while a writer commits; busy_timeout waits instead of failing.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 15}})
    if app.config.get("REDIS_URL"):
        app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    else:
        app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    if not app.config.get("IP_HASH_SALT"):
        app.config["IP_HASH_SALT"] = "ip:" + str(app.config["SECRET_KEY"])


def _init_extensions(app: Flask) -> None:
    from discuss import models  # noqa: F401  (register tables with the metadata)
    from discuss.extensions import csrf, db, limiter, login_manager, migrate
    from discuss.storage import install_sqlite_pragmas

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    with app.app_context():
        install_sqlite_pragmas(db.engine)

    @login_manager.user_loader
    def load_user(user_id: str):
        # "id:version"; a session from before the version was bumped (deactivation, password
        # reset) no longer loads. A bare id is version 0 (sessions from before versions existed).
        raw_id, _, version = user_id.partition(":")
        user = db.session.get(models.User, int(raw_id))
        if user is None or int(version or 0) != (user.session_version or 0):
            return None
        return user


def _register_blueprints(app: Flask) -> None:
    from discuss import api, auth, dashboard, embed, health
    from discuss.api.moderation import api_bp as moderation_api_bp
    from discuss.errors import register_error_handlers

    for blueprint in (api.bp, moderation_api_bp, health.bp, embed.bp, dashboard.bp, auth.bp):
        app.register_blueprint(blueprint)
    for surface in (embed, dashboard, auth):
        surface.init_app(app)
    register_error_handlers(app)


def _register_cli(app: Flask) -> None:
    from discuss.cli import discuss_cli

    app.cli.add_command(discuss_cli)
