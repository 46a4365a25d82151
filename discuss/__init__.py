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

    from discuss.security import install_input_guards
    install_input_guards(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)

    from discuss.security import install_security_headers
    install_security_headers(app)
    from discuss.metrics import install_request_metrics
    install_request_metrics(app)
    from discuss.api.live import install_live_polls
    install_live_polls(app)
    from discuss.api.caching import install_public_reads
    install_public_reads(app)

    _init_scoring(app)
    _log_start_warnings(app)
    return app


def _log_start_warnings(app: Flask) -> None:
    from discuss.jobs.mail import mail_status

    with app.app_context():
        mail = mail_status()
    if mail["state"] == "disabled":
        app.logger.warning(mail["reason"])


def _init_scoring(app: Flask) -> None:
    """Inline mode loads the model in the background of every web process; queue mode leaves
    it to the workers (`flask discuss worker`), so web processes stay small.

    A `flask ...` command does not load it: `db upgrade`, `create-moderator` and the rest have no
    use for it, and a model thread still loading when the command exits used to abort the process
    ("terminate called ..."). The commands that score (`rescore`, `worker`, `model check`) load it
    themselves; `flask run` starts it on its first request."""
    import click

    from discuss.scoring.runtime import EXTENSION_KEY, service_from_config
    from discuss.moderation.rescoring import install_auto_rescore

    from discuss.health import instrument_scoring

    service = service_from_config(app)
    instrument_scoring(service)
    app.extensions[EXTENSION_KEY] = service
    if app.config["SCORING"] == "queue":
        return
    if not app.config.get("SCORER"):
        install_auto_rescore(app)
    app.before_request(service.start)  # idempotent; starts it where nothing else did
    if click.get_current_context(silent=True) is None:  # a web process (gunicorn), not a CLI command
        service.start()
        if not app.config.get("SCORER"):
            # Comments held because scoring ran past its time budget are routed while we run.
            from discuss.moderation.sweeper import start_sweeper
            start_sweeper(app)


def _resolve_defaults(app: Flask) -> None:
    from discuss.config import KNOWN_INSECURE_SECRET_KEYS
    from discuss.security import public_url_is_https, resolve_secret_key

    os.makedirs(app.instance_path, exist_ok=True)
    resolve_secret_key(app, KNOWN_INSECURE_SECRET_KEYS)
    if public_url_is_https(app):  # served over HTTPS: cookies never travel in the clear
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "discuss.db")
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):  # psycopg 3 is the driver we ship
        app.config["SQLALCHEMY_DATABASE_URI"] = uri.replace("postgresql://", "postgresql+psycopg://", 1)
    if uri.startswith("sqlite"):
        # WAL lets readers proceed while a writer commits; busy_timeout waits instead of failing.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 15}})
    else:
        # A server database can restart under us: pre-ping replaces a connection it dropped
        # instead of failing the next request or job with it, and a server that does not answer
        # fails a request in seconds (a 503) rather than hanging a worker.
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options.setdefault("pool_pre_ping", True)
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            options.setdefault("connect_args", {"connect_timeout": 5})
    if app.config.get("REDIS_URL"):
        app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    else:
        from discuss.ratelimit_storage import SCHEME  # registers the store with limits

        app.config.setdefault("RATELIMIT_STORAGE_URI", f"{SCHEME}://")
    if not app.config.get("IP_HASH_SALT"):
        app.config["IP_HASH_SALT"] = "ip:" + str(app.config["SECRET_KEY"])


def _init_extensions(app: Flask) -> None:
    from discuss import models  # noqa: F401  (register tables with the metadata)
    from discuss.extensions import babel, csrf, db, limiter, login_manager, migrate
    from discuss.storage import install_sqlite_pragmas, install_write_health

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, default_timezone="UTC")
    # Flask-Babel caches the locale on `g`, which outlives a request when an app context was
    # already pushed (tests, CLI commands serving requests): choose it afresh for every request.
    from flask_babel import refresh
    app.before_request(refresh)
    with app.app_context():
        install_sqlite_pragmas(db.engine)
    install_write_health()

    @login_manager.user_loader
    def load_user(session_id: str):
        from discuss.identity.revocation import load_session_user

        return load_session_user(session_id)


def _select_locale() -> str:
    """Flask-Babel's locale: one a page chose (request.environ["discuss.locale"]; emails use
    force_locale), else the signed-in staff member's language, else the browser's, among the
    dashboard's languages."""
    from flask import has_request_context, request
    from flask_login import current_user

    from discuss.locales import DASHBOARD_LANGUAGES, DEFAULT_LANGUAGE

    if not has_request_context():
        return DEFAULT_LANGUAGE
    if request.environ.get("discuss.locale"):
        return request.environ["discuss.locale"]
    user = current_user if current_user and current_user.is_authenticated else None
    if user is not None and getattr(user, "language", None) in DASHBOARD_LANGUAGES:
        return user.language
    return request.accept_languages.best_match(DASHBOARD_LANGUAGES) or DEFAULT_LANGUAGE


def _register_blueprints(app: Flask) -> None:
    from discuss import api, auth, dashboard, embed, health
    from discuss.api.moderation import api_bp as moderation_api_bp
    from discuss.api.openapi import docs_bp
    from discuss.errors import register_error_handlers

    for blueprint in (api.bp, moderation_api_bp, docs_bp, health.bp, embed.bp, dashboard.bp, auth.bp):
        app.register_blueprint(blueprint)
    for surface in (embed, dashboard, auth):
        surface.init_app(app)
    register_error_handlers(app)


def _register_cli(app: Flask) -> None:
    from discuss.cli import discuss_cli

    app.cli.add_command(discuss_cli)
