"""Comments pushed through the real Detoxify class, inline and on a real RQ worker over Redis."""
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from discuss.extensions import db
from discuss.models import Comment, CommentStatus, ModerationEvent
from discuss.models.settings import DEFAULT_SETTINGS
from discuss.scoring.runtime import get_scoring
from tests.factories import make_site
from tests.support.api import post_comment, read_thread

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEVEN_LABELS = {"toxicity", "severe_toxicity", "obscene", "identity_attack", "insult", "threat", "sexual_explicit"}


def _model_config(tiny_detoxify, tmp_path, **extra):
    checkpoint, config_dir = tiny_detoxify
    return {"SCORER": None, "SCORER_ENABLED": True, "TOXICITY_CHECKPOINT": checkpoint,
            "TOXICITY_CONFIG_DIR": config_dir, "SCORER_CACHE_DIR": str(tmp_path / "scorer-cache"),
            "SCORER_THREADS": 1, "SCORING_TIMEOUT_MS": 30_000, **extra}


def _expected_status(scores):
    """What the default thresholds say for these scores (the rules must agree with the model)."""
    if any(scores.get(l, 0) >= t for l, t in DEFAULT_SETTINGS["reject_thresholds"].items()):
        return CommentStatus.REJECTED
    if any(scores.get(l, 0) >= t for l, t in DEFAULT_SETTINGS["hold_thresholds"].items()):
        return CommentStatus.PENDING
    return CommentStatus.PUBLISHED


@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_inline_scoring_with_real_detoxify_routes_by_its_scores(make_app, tiny_detoxify, tmp_path, backend):
    app = make_app(**_model_config(tiny_detoxify, tmp_path, TOXICITY_BACKEND=backend))
    with app.app_context():
        assert get_scoring().wait_ready(120), get_scoring().status()
        make_site(toxicity_nudge=False)
        client = app.test_client()
        bodies = ["The council vote was a sensible compromise.", "This is the worst article I have ever read.",
                  "word " * 1500]
        for body in bodies:
            response = post_comment(client, body, name=f"R{len(body)}")
            stored = db.session.get(Comment, response.json["comment"]["id"])
            assert set(stored.scores) >= SEVEN_LABELS
            assert all(0.0 <= v <= 1.0 for v in stored.scores.values())
            assert stored.status is _expected_status(stored.scores)
            assert "scoring_unavailable" not in stored.reasons
            assert response.status_code == (201 if stored.status is CommentStatus.PUBLISHED else 202)
        assert get_scoring().status()["state"] == "ready"
        db.session.remove()


def test_model_check_command_loads_the_offline_checkpoint(make_app, tiny_detoxify, tmp_path):
    app = make_app(**_model_config(tiny_detoxify, tmp_path, TOXICITY_BACKEND="torch"))
    result = app.test_cli_runner().invoke(args=["discuss", "model", "check"])
    assert result.exit_code == 0, result.output
    assert "toxicity" in result.output and "insult" in result.output


def test_model_check_fails_clearly_without_weights(make_app, tmp_path):
    app = make_app(SCORER=None, SCORER_ENABLED=True, TOXICITY_CHECKPOINT=str(tmp_path / "missing.ckpt"))
    result = app.test_cli_runner().invoke(args=["discuss", "model", "check"])
    assert result.exit_code != 0
    assert "missing.ckpt" in result.output or "could not" in result.output.lower()


def _worker_env(app, tiny_detoxify, redis_url, tmp_path):
    checkpoint, config_dir = tiny_detoxify
    return {**os.environ, "DISCUSS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "DISCUSS_REDIS_URL": redis_url, "DISCUSS_SCORING": "queue", "DISCUSS_SECRET_KEY": "test-secret",
            "DISCUSS_TOXICITY_CHECKPOINT": checkpoint, "DISCUSS_TOXICITY_CONFIG_DIR": config_dir,
            "DISCUSS_TOXICITY_BACKEND": "torch", "DISCUSS_SCORER_THREADS": "1",
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": ROOT}


def _run_worker(env):
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "discuss", "worker", "--burst"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_queue_mode_scores_on_a_separate_worker_process(make_app, tiny_detoxify, redis_url, tmp_path):
    app = make_app(SCORER=None, SCORER_ENABLED=False, SCORING="queue", REDIS_URL=redis_url)
    with app.app_context():
        # Thresholds above 1 so the routing outcome is known; the scores still come from the model.
        make_site(hold_thresholds={"toxicity": 1.01}, reject_thresholds={})
        client = app.test_client()
        response = post_comment(client, "Queued for a worker to score")
        assert response.status_code == 202
        comment_id = response.json["comment"]["id"]
        assert db.session.get(Comment, comment_id).reasons == ["scoring_queued"]
        assert read_thread(client).json["comments"] == []
        db.session.remove()

        worker = _run_worker(_worker_env(app, tiny_detoxify, redis_url, tmp_path))
        assert worker.returncode == 0, worker.stdout + worker.stderr

        stored = db.session.get(Comment, comment_id)
        assert stored.status is CommentStatus.PUBLISHED and set(stored.scores) >= SEVEN_LABELS
        assert [c["id"] for c in read_thread(client).json["comments"]] == [comment_id]
        actions = list(db.session.scalars(select(ModerationEvent.action).where(ModerationEvent.comment_id == comment_id)))
        assert actions == ["create", "rescore"]
        db.session.remove()


def test_queue_mode_with_redis_down_keeps_the_comment_for_the_next_worker(make_app, tiny_detoxify, redis_url,
                                                                           tmp_path):
    app = make_app(SCORER=None, SCORER_ENABLED=False, SCORING="queue", REDIS_URL="redis://127.0.0.1:1/0")
    with app.app_context():
        make_site(hold_thresholds={"toxicity": 1.01}, reject_thresholds={})
        response = post_comment(app.test_client(), "Redis is down but I am safe")
        assert response.status_code == 202
        comment_id = response.json["comment"]["id"]
        db.session.remove()
        # The next worker start catches up on everything that waits for a score.
        worker = _run_worker(_worker_env(app, tiny_detoxify, redis_url, tmp_path))
        assert worker.returncode == 0, worker.stdout + worker.stderr
        assert db.session.get(Comment, comment_id).status is CommentStatus.PUBLISHED
        db.session.remove()
