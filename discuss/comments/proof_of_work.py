"""Optional proof of work for posting, with ALTCHA (the ``altcha`` package makes and checks
challenges; the widget solves them in the reader's browser).

The site setting ``proof_of_work`` is ``off``, ``guests`` (guests only) or ``everyone``. A
challenge is signed with a key derived from the service's secret and expires; a solved
challenge is accepted once (its signature is remembered in the rate-limit store until it
expires), so one solution cannot be replayed for a flood.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from altcha import create_challenge, verify_solution
from flask import current_app
from limits import RateLimitItemPerHour
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from discuss.errors import ApiError
from discuss.models import AuthorKind, User, utcnow

ALGORITHM = "SHA-256"
CHALLENGE_MINUTES = 20
MAX_PAYLOAD_CHARS = 4096
_ONCE = RateLimitItemPerHour(1)  # longer than a challenge lives
STORE_KEY = "discuss.altcha-used"


def _used_once() -> FixedWindowRateLimiter:
    """Remembers spent solutions in the rate-limit store (Redis when configured, shared by every
    process), whether or not rate limiting itself is switched on."""
    app = current_app._get_current_object()
    if STORE_KEY not in app.extensions:
        app.extensions[STORE_KEY] = FixedWindowRateLimiter(storage_from_string(app.config["RATELIMIT_STORAGE_URI"]))
    return app.extensions[STORE_KEY]


def _secret() -> bytes:
    return hmac.new(str(current_app.config["SECRET_KEY"]).encode(), b"discuss.altcha", hashlib.sha256).digest()


def required(settings: dict, author: User | None) -> bool:
    mode = settings.get("proof_of_work", "off")
    return mode == "everyone" or (mode == "guests" and (author is None or author.kind is AuthorKind.GUEST))


def new_challenge() -> dict:
    challenge = create_challenge(ALGORITHM, int(current_app.config["ALTCHA_COST"]), hmac_secret=_secret(),
                                 expires_at=utcnow() + timedelta(minutes=CHALLENGE_MINUTES))
    return challenge.to_dict()


def check(settings: dict, author: User | None, payload: str | None) -> None:
    """Raise a 400 unless the post needs no proof or carries a fresh, valid, unused one."""
    if not required(settings, author):
        return
    if not payload:
        raise ApiError("proof_of_work_required", "This site asks your browser to solve a small puzzle before "
                       "posting. Please try again.", 400, fields={"altcha": "is required on this site"})
    try:
        result = verify_solution(payload[:MAX_PAYLOAD_CHARS], _secret())
        verified = bool(result.verified)
    except Exception:  # noqa: BLE001 - any malformed payload is simply not a proof
        verified = False
    if not verified:
        raise ApiError("proof_of_work_invalid", "The puzzle's answer was not accepted. Please try again.", 400,
                       fields={"altcha": "not a valid, unexpired solution"})
    signature = hashlib.sha256(payload.encode()).hexdigest()
    if not _used_once().hit(_ONCE, "altcha-used", signature):
        raise ApiError("proof_of_work_invalid", "That puzzle was already used. Please try again.", 400,
                       fields={"altcha": "already used"})
