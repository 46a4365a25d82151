"""All configuration lives here: config classes plus ``DISCUSS_*`` environment variables.

Nothing else in the package reads ``os.environ``; everything goes through ``app.config``.
"""
from __future__ import annotations

import os
from typing import Any

ENV_PREFIX = "DISCUSS_"


def _env(name: str, default: Any = None) -> Any:
    return os.environ.get(ENV_PREFIX + name, default)


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value not in (None, "") else default


def _env_float(name: str) -> float:
    value = _env(name)
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{ENV_PREFIX}{name} must be a number, not {value!r}") from None


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value in (None, ""):
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# Secret keys that were published (the old development default): refused at start, since anyone
# can forge sessions and tokens signed with them.
KNOWN_INSECURE_SECRET_KEYS = frozenset({"dev-insecure-change-me"})


class Config:
    """Defaults for a single-machine install on SQLite. Every value can be overridden by env."""

    # None: generated once into SECRET_KEY_FILE (owner-only) and reused by every process.
    SECRET_KEY: str | None = None
    SECRET_KEY_FILE: str | None = None  # default: <instance>/secret_key
    # None means "a SQLite file in the instance folder", resolved in create_app.
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    REDIS_URL: str | None = None
    # Salt for hashing readers' IP addresses; defaults to a value derived from SECRET_KEY.
    IP_HASH_SALT: str | None = None

    # Input limits. A request body over MAX_CONTENT_LENGTH is refused (413) before it is read.
    MAX_CONTENT_LENGTH = 1024 * 1024
    MAX_JSON_DEPTH = 32
    MAX_BODY_CHARS = 10_000
    MAX_NAME_CHARS = 64
    MAX_PAGE_LIMIT = 200
    DEFAULT_PAGE_LIMIT = 50
    MAX_COUNT_ARTICLES = 100
    DUPLICATE_WINDOW_SECONDS = 600

    # Rate limits (Flask-Limiter syntax). Memory storage unless REDIS_URL is set.
    RATELIMIT_ENABLED = True
    RATE_LIMIT_POST_PER_IP = "10/minute;100/day"
    RATE_LIMIT_POST_PER_AUTHOR = "5/minute"
    RATE_LIMIT_WRITE_PER_IP = "60/minute"
    RATE_LIMIT_LOGIN = "10/minute"
    RATE_LIMIT_VERIFY_PER_ADDRESS = "3/hour;10/day"   # verification emails to one address
    RATE_LIMIT_VERIFY_PER_IP = "10/hour;30/day"       # verification emails asked for from one IP
    # Proof of work (site setting proof_of_work): ALTCHA SHA-256 cost; higher is slower to solve.
    ALTCHA_COST = 300  # about 1-2 s in Chromium on a 2-core machine (5000: ~25 s)
    RATELIMIT_HEADERS_ENABLED = True

    # Scoring (issue 3). "inline" scores in the web process; "queue" hands off to RQ workers.
    SCORING = "inline"
    TOXICITY_MODEL = "unbiased"
    TOXICITY_CHECKPOINT: str | None = None
    TOXICITY_CONFIG_DIR: str | None = None
    TOXICITY_BACKEND = "auto"  # auto | onnx | torch
    SCORING_TIMEOUT_MS = 2000
    SCORER_ENABLED = True
    SCORER_THREADS = 2
    SCORER_CACHE_DIR: str | None = None      # default: <instance>/scoring-cache
    SCORER_AGREEMENT_TOLERANCE = 0.01        # fast path only if it agrees with fp32 Detoxify
    TOXICITY_ONNX_RECIPES = "bf16,fp32"  # fast-path recipes auto tries, in order; add int8 to opt in
    SCORER_MAX_BATCH = 16
    SCORER_BATCH_WINDOW_MS = 3
    IP_RETENTION_DAYS = 90
    PROXY_HOPS = 0
    # Self-healing (issue 19): every SWEEP_SECONDS a worker (queue mode) or each web process
    # (inline mode, model ready) routes comments that have waited for a score longer than that:
    # lost enqueues, Redis outages, killed workers, time budgets exceeded. 0 turns it off.
    SWEEP_SECONDS = 30

    # Sessions
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_TIME_LIMIT = None

    # Mail (issue 6)
    SMTP_HOST = "localhost"
    SMTP_PORT = 25
    MAIL_FROM = "comments@localhost"
    PUBLIC_URL: str | None = None
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_STARTTLS = False
    SMTP_TIMEOUT_SECONDS = 10
    MAIL_ENABLED = True
    # "auto": the RQ queue when SCORING=queue and REDIS_URL are set, else a background thread.
    # "thread", "queue" or "inline" (send within the caller; for scripts and debugging).
    MAIL_DELIVERY = "auto"
    DIGEST_MAX_ITEMS = 20

    # Reader identity (issue 6)
    READER_SESSION_DAYS = 30
    EMAIL_VERIFY_MAX_AGE_HOURS = 48
    # Publisher SSO tokens must expire within this long of now (they are meant to be short-lived).
    SSO_MAX_TOKEN_LIFETIME_SECONDS = 86_400
    SSO_LEEWAY_SECONDS = 30

    # Webhooks (issue 17): attempts per delivery and the backoff between them (base, 3x, 9x...).
    WEBHOOK_MAX_ATTEMPTS = 6
    WEBHOOK_RETRY_BASE_SECONDS = 10.0
    WEBHOOK_TIMEOUT_SECONDS = 5.0
    # Metrics (issue 17): /metrics answers a bearer token, or anyone when METRICS_PUBLIC is on
    # (for a scraper on a private network). With neither, it is off (403).
    METRICS_TOKEN: str | None = None
    METRICS_PUBLIC = False
    # prometheus-client's own variable, read here so the app knows it runs in multiprocess mode.
    METRICS_MULTIPROC_DIR: str | None = None
    # Live updates (issue 17): how often an open widget asks whether its thread changed.
    LIVE_POLL_SECONDS = 3
    # HTTP caching (issue 19): after a public read's max-age (a site setting) runs out, a cache may
    # still answer with it for this many seconds while it fetches a fresh one in the background.
    CACHE_STALE_WHILE_REVALIDATE_SECONDS = 30
    # Each process answers a repeated anonymous read (thread page, counts) from memory for this long
    # before asking the database again; its own writes clear it at once. 0: off.
    PUBLIC_READ_CACHE_SECONDS = 1.0

    @classmethod
    def from_env(cls) -> dict[str, Any]:
        """Read every DISCUSS_* override in one place."""
        values: dict[str, Any] = {}
        mapping_str = {
            "SECRET_KEY": "SECRET_KEY",
            "SECRET_KEY_FILE": "SECRET_KEY_FILE",
            "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
            "REDIS_URL": "REDIS_URL",
            "IP_HASH_SALT": "IP_HASH_SALT",
            "SCORING": "SCORING",
            "TOXICITY_MODEL": "TOXICITY_MODEL",
            "TOXICITY_CHECKPOINT": "TOXICITY_CHECKPOINT",
            "TOXICITY_CONFIG_DIR": "TOXICITY_CONFIG_DIR",
            "TOXICITY_BACKEND": "TOXICITY_BACKEND",
            "SCORER_CACHE_DIR": "SCORER_CACHE_DIR",
            "TOXICITY_ONNX_RECIPES": "TOXICITY_ONNX_RECIPES",
            "RATE_LIMIT_POST_PER_IP": "RATE_LIMIT_POST_PER_IP",
            "RATE_LIMIT_POST_PER_AUTHOR": "RATE_LIMIT_POST_PER_AUTHOR",
            "SMTP_HOST": "SMTP_HOST",
            "MAIL_FROM": "MAIL_FROM",
            "PUBLIC_URL": "PUBLIC_URL",
            "SMTP_USERNAME": "SMTP_USERNAME",
            "SMTP_PASSWORD": "SMTP_PASSWORD",
            "MAIL_DELIVERY": "MAIL_DELIVERY",
            "RATE_LIMIT_LOGIN": "RATE_LIMIT_LOGIN",
            "METRICS_TOKEN": "METRICS_TOKEN",
            "RATE_LIMIT_VERIFY_PER_ADDRESS": "RATE_LIMIT_VERIFY_PER_ADDRESS",
            "RATE_LIMIT_VERIFY_PER_IP": "RATE_LIMIT_VERIFY_PER_IP",
        }
        for env_name, key in mapping_str.items():
            value = _env(env_name)
            if value not in (None, ""):
                values[key] = value
        for env_name in ("ALTCHA_COST", "MAX_CONTENT_LENGTH", "MAX_JSON_DEPTH", "MAX_BODY_CHARS", "MAX_NAME_CHARS", "MAX_PAGE_LIMIT",
                         "SCORING_TIMEOUT_MS", "SCORER_THREADS", "SCORER_MAX_BATCH", "SMTP_PORT", "IP_RETENTION_DAYS", "PROXY_HOPS",
                         "SMTP_TIMEOUT_SECONDS", "DIGEST_MAX_ITEMS", "READER_SESSION_DAYS",
                         "EMAIL_VERIFY_MAX_AGE_HOURS", "SSO_MAX_TOKEN_LIFETIME_SECONDS", "SSO_LEEWAY_SECONDS",
                         "WEBHOOK_MAX_ATTEMPTS", "LIVE_POLL_SECONDS", "SWEEP_SECONDS",
                         "CACHE_STALE_WHILE_REVALIDATE_SECONDS"):
            if _env(env_name) not in (None, ""):
                values[env_name] = _env_int(env_name, 0)
        for env_name in ("WEBHOOK_RETRY_BASE_SECONDS", "WEBHOOK_TIMEOUT_SECONDS", "PUBLIC_READ_CACHE_SECONDS"):
            if _env(env_name) not in (None, ""):
                values[env_name] = _env_float(env_name)
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            values["METRICS_MULTIPROC_DIR"] = os.environ["PROMETHEUS_MULTIPROC_DIR"]
        if _env("SCORER_AGREEMENT_TOLERANCE") not in (None, ""):
            values["SCORER_AGREEMENT_TOLERANCE"] = _env_float("SCORER_AGREEMENT_TOLERANCE")
        for env_name, key in (("RATELIMIT_ENABLED", "RATELIMIT_ENABLED"),
                              ("SCORER_ENABLED", "SCORER_ENABLED"),
                              ("SECURE_COOKIES", "SESSION_COOKIE_SECURE"),
                              ("SMTP_STARTTLS", "SMTP_STARTTLS"),
                              ("MAIL_ENABLED", "MAIL_ENABLED"),
                              ("METRICS_PUBLIC", "METRICS_PUBLIC")):
            if _env(env_name) not in (None, ""):
                values[key] = _env_bool(env_name, False)
        return values


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    WTF_CSRF_ENABLED = True
    RATELIMIT_ENABLED = False
    SCORER_ENABLED = False
    SCORING_TIMEOUT_MS = 5000
    # No background sweeper in test apps: one left behind by an earlier test could route a later
    # test's comments (PostgreSQL tests share one database). Sweeper tests start their own.
    SWEEP_SECONDS = 0
    # Tests change rows directly between two reads; the tests of this cache turn it on.
    PUBLIC_READ_CACHE_SECONDS = 0.0


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
