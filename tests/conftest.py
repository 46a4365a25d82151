"""Fixtures: a fresh, migrated database per test, on SQLite (default) or PostgreSQL.

Set DISCUSS_TEST_DATABASE_URL=postgresql://... to run the same suite on PostgreSQL. The schema
comes from the Alembic migrations (not create_all), migrated once per session; each test
then gets a copy (SQLite) or emptied tables (PostgreSQL).
"""
from __future__ import annotations

import os
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text

from discuss import create_app
from discuss.config import TestingConfig
from discuss.extensions import db
from tests.dashboard_support import build_world, sign_in
from tests.factories import make_site
from tests.support.scorers import FakeScorer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PG_URL = os.environ.get("DISCUSS_TEST_DATABASE_URL")


def pytest_configure(config):
    config.addinivalue_line("markers", "site(**options): how the `site` fixture builds its site "
                                       "(make_site keywords, e.g. sso=True or settings)")
    config.addinivalue_line("markers", "signed_in(role): the `world` fixture signs the client in as "
                                       "world.users[role]")


def _base_config(uri: str) -> dict:
    return {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()} | {
        "SQLALCHEMY_DATABASE_URI": uri, "WTF_CSRF_ENABLED": False}


def _migrate(uri: str) -> None:
    from flask_migrate import upgrade

    app = create_app(_base_config(uri))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    if PG_URL:
        name = f"discuss_test_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_URL.rsplit("/", 1)[0] + "/" + name
        _migrate(url)
        yield url
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        _migrate(f"sqlite:///{path}")
        yield str(path)


def _fresh_database(template: str, tmp_path) -> str:
    if not PG_URL:
        target = tmp_path / "discuss.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    engine = create_engine(template.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"))]
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()
    return template


@pytest.fixture
def scorer():
    return FakeScorer()


@pytest.fixture
def make_app(database_template, tmp_path, scorer):
    """Build an app on a fresh database; tests pass overrides (e.g. another scorer)."""
    created = []

    def factory(**overrides):
        uri = _fresh_database(database_template, tmp_path) if not created else created[0].config[
            "SQLALCHEMY_DATABASE_URI"]
        config = _base_config(uri) | {"SCORER": scorer} | overrides
        app = create_app(config)
        created.append(app)
        return app

    yield factory
    for app in created:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app_config():
    """Config overrides for the `app` fixture: a test module overrides this fixture to change them."""
    return {}


@pytest.fixture
def app(make_app, app_config):
    app = make_app(**app_config)
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def site(app, request):
    """The "news" site. ``@pytest.mark.site(sso=True, **settings)`` on a test or module changes it."""
    marker = request.node.get_closest_marker("site")
    return make_site("news", **(marker.kwargs if marker else {}))


@pytest.fixture
def world(app, client, request):
    """Two sites with a comment in every state, and staff (see build_world).

    ``@pytest.mark.signed_in("admin")`` on a test or module signs the client in as ``world.users["admin"]``.
    """
    built = build_world()
    marker = request.node.get_closest_marker("signed_in")
    if marker is not None:
        sign_in(client, built.users[marker.args[0]])
    return built


@pytest.fixture(scope="session")
def tiny_detoxify(tmp_path_factory):
    """A real Detoxify-format checkpoint (2-layer BERT, local WordPiece vocab), built offline."""
    from tests.support.tiny_detoxify import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-detoxify"), head_scale=20.0)


REDIS_TEST_URL = os.environ.get("DISCUSS_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def redis_url():
    """A real, emptied Redis database for queue tests (.ci/run starts Redis if it is down)."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL)
    client.ping()
    client.flushdb()
    yield REDIS_TEST_URL
    client.flushdb()
