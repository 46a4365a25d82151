"""Publisher commands, the migrated schema, automatic rescoring and the preview endpoint."""
import logging
import threading
import time

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from discuss import create_app
from discuss.extensions import db
from discuss.models import Comment, CommentStatus, Site
from discuss.scoring.runtime import ScoringService
from discuss.moderation.rescoring import install_auto_rescore
from tests.factories import make_site
from tests.support.api import post_comment, read_thread
from tests.support.scorers import FakeScorer


def test_migrations_build_exactly_the_models_schema(app):
    with db.engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert drift == []


def test_create_site_command(app):
    result = app.test_cli_runner().invoke(args=["discuss", "create-site", "city", "--origin",
                                                "https://City.example.com/", "--name", "City Paper"])
    assert result.exit_code == 0, result.output
    site = db.session.scalar(select(Site).where(Site.slug == "city"))
    assert (site.name, site.allowed_origins) == ("City Paper", ["https://city.example.com"])


def test_create_site_refuses_bad_origin_and_duplicates(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["discuss", "create-site", "x", "--origin", "not a url"]).exit_code != 0
    assert runner.invoke(args=["discuss", "create-site", "x", "--origin", "https://x.example"]).exit_code == 0
    assert runner.invoke(args=["discuss", "create-site", "x", "--origin", "https://x.example"]).exit_code != 0
    assert db.session.scalar(select(Site.slug).where(Site.slug == "x")) == "x"


def test_init_demo_creates_demo_site_and_first_admin_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["discuss", "init-demo"])
    assert first.exit_code == 0, first.output
    assert "sign in as admin@demo.local /" in first.output
    again = runner.invoke(args=["discuss", "init-demo"])
    assert again.exit_code == 0 and "exists already" in again.output
    assert db.session.scalar(select(Site).where(Site.slug == "demo")).allows_origin("http://127.0.0.1:8080")


def test_rescore_command_routes_held_comments(make_app):
    app = make_app(SCORER=FakeScorer(fail=True))
    with app.app_context():
        make_site(toxicity_nudge=False)
        comment_id = post_comment(app.test_client(), "Held while the model was down").json["comment"]["id"]
        app.extensions["discuss.scoring"] = ScoringService.from_scorer(FakeScorer())
        result = app.test_cli_runner().invoke(args=["discuss", "rescore"])
        assert result.exit_code == 0, result.output
        assert "published=1" in result.output
        db.session.expire_all()
        assert db.session.get(Comment, comment_id).status is CommentStatus.PUBLISHED
        db.session.remove()


def test_rescore_command_fails_clearly_when_model_unavailable(make_app):
    app = make_app(SCORER=None, SCORER_ENABLED=False)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["discuss", "rescore", "--wait", "0"])
        assert result.exit_code != 0 and "not ready" in result.output
        db.session.remove()


def test_held_comments_are_routed_automatically_once_the_model_is_up(make_app):
    gate = threading.Event()

    def loader():
        gate.wait(10)
        return FakeScorer()

    app = make_app(SCORER=None, SCORER_ENABLED=False)
    with app.app_context():
        service = ScoringService(loader, "gated")
        app.extensions["discuss.scoring"] = service
        install_auto_rescore(app)
        service.start()
        make_site()
        comment_id = post_comment(app.test_client(), "Posted during start-up").json["comment"]["id"]
        gate.set()
        deadline = time.time() + 10
        while time.time() < deadline:
            db.session.expire_all()
            if db.session.get(Comment, comment_id).status is CommentStatus.PUBLISHED:
                break
            time.sleep(0.05)
        assert db.session.get(Comment, comment_id).status is CommentStatus.PUBLISHED
        assert read_thread(app.test_client()).json["thread"]["published_count"] == 1
        db.session.remove()


def test_automatic_rescoring_on_an_unmigrated_database_warns_instead_of_failing(tmp_path, caplog):
    from tests.conftest import _base_config

    app = create_app(_base_config(f"sqlite:///{tmp_path / 'empty.db'}") | {"SCORER": None,
                                                                           "SCORER_ENABLED": False})
    with app.app_context():
        service = ScoringService(FakeScorer, "instant")
        app.extensions["discuss.scoring"] = service
        service.start(wait=True)
        with caplog.at_level(logging.WARNING):
            install_auto_rescore(app)  # the model is already up: rescoring runs on a thread now
            deadline = time.time() + 10
            while time.time() < deadline and "rescoring skipped" not in caplog.text:
                time.sleep(0.05)
        assert "automatic rescoring skipped: the database has no tables yet" in caplog.text
        assert "automatic rescoring failed" not in caplog.text
        db.session.remove()
        db.engine.dispose()


def test_preview_renders_sanitized_markdown(client, app):
    response = client.post("/api/v1/preview", json={"body": "**bold** <script>x</script>"})
    assert response.json == {"html": "<p><strong>bold</strong> &lt;script&gt;x&lt;/script&gt;</p>"}
    assert client.post("/api/v1/preview", json={"text": "x"}).status_code == 400
