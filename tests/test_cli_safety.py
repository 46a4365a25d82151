"""The CLI (issue 15): commands that don't need the model don't load it, every command exits
cleanly, and `rescore` fails at once with the model's load error instead of waiting it out."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOAD_FAILED = "toxicity model failed to load"


@pytest.fixture
def cli_env(tmp_path):
    env = {**os.environ, "DISCUSS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "DISCUSS_SECRET_KEY_FILE": str(tmp_path / "secret_key"), "DISCUSS_SCORING": "inline",
           # A model that cannot load: if a command tried, its error would show in the output.
           "DISCUSS_TOXICITY_CHECKPOINT": str(tmp_path / "missing.ckpt"), "DISCUSS_SCORER_ENABLED": "1",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": ROOT,
           "DISCUSS_STAFF_PASSWORD": "a long enough password"}
    env.pop("DISCUSS_SECRET_KEY", None)
    return env


def flask(env, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_commands_that_need_no_model_do_not_load_it_and_exit_cleanly(cli_env):
    upgrade = flask(cli_env, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert LOAD_FAILED not in upgrade.stderr and "rescoring skipped" not in upgrade.stderr
    site = flask(cli_env, "discuss", "create-site", "news", "--origin", "https://news.example.com")
    assert site.returncode == 0, site.stderr
    for _ in range(4):  # "terminate called ..." (134) came in about half the runs
        result = flask(cli_env, "discuss", "create-moderator", "ed@news.example.com", "--site", "news")
        assert result.returncode == 0, result.stdout + result.stderr
        assert LOAD_FAILED not in result.stderr and "terminate called" not in result.stderr
    listing = flask(cli_env, "discuss", "list-sites")
    assert listing.returncode == 0 and "news" in listing.stdout


def test_rescore_fails_at_once_with_the_load_error(cli_env):
    assert flask(cli_env, "db", "upgrade").returncode == 0
    started = time.monotonic()
    result = flask(cli_env, "discuss", "rescore", "--wait", "600")
    assert result.returncode != 0
    assert "missing.ckpt" in result.stderr + result.stdout
    assert time.monotonic() - started < 90  # not the ten minutes of --wait


def test_model_check_says_why_mail_is_off(cli_env):
    assert flask(cli_env, "db", "upgrade").returncode == 0
    cli_env.pop("DISCUSS_PUBLIC_URL", None)
    unset = flask(cli_env, "discuss", "model", "check", "--timeout", "30")
    assert unset.returncode != 0 and "missing.ckpt" in unset.stderr          # the model still fails as before
    assert "mail:           disabled: DISCUSS_PUBLIC_URL is not set" in unset.stdout
    off = flask({**cli_env, "DISCUSS_PUBLIC_URL": "https://comments.example.com", "DISCUSS_MAIL_ENABLED": "0"},
                "discuss", "model", "check", "--timeout", "30")
    assert "mail:           off: DISCUSS_MAIL_ENABLED is off" in off.stdout
