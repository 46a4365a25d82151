"""The pre-submit toxicity nudge.

When a comment would be held for toxicity, the reader is asked "are you sure?" instead
(422 ``toxicity_warning``) and may rephrase or post anyway. A signed warning token travels
with the next submission so we can record whether the reader rephrased: that is how a
publisher measures whether the nudge works. Nothing is stored when the nudge is shown.
"""
from __future__ import annotations

import hashlib
from typing import Any, Callable

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from discuss.errors import ApiError
from discuss.models import Site, Thread
from discuss.moderation.rules import Outcome, Rule, ToxicityRule, Verdict

NUDGE_SALT = "discuss.nudge"
WARNING_TOKEN_MAX_AGE = 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=NUDGE_SALT)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class ToxicityWarning(ApiError):
    def __init__(self, labels: list[str], token: str):
        super().__init__("toxicity_warning",
                         "This comment may come across as hurtful. Would you like to rephrase it before posting?",
                         422, extra={"labels": labels, "warning_token": token})


def hook(settings: dict[str, Any], site: Site, thread: Thread, acknowledged: bool,
         text: str) -> Callable[[Rule, Outcome], None] | None:
    if not settings.get("toxicity_nudge", True) or acknowledged:
        return None

    def on_outcome(rule: Rule, outcome: Outcome) -> None:
        if isinstance(rule, ToxicityRule) and outcome.verdict is Verdict.HOLD and outcome.details.get("labels"):
            token = _serializer().dumps({"s": site.id, "a": thread.article_id, "h": _digest(text)})
            raise ToxicityWarning(list(outcome.details["labels"]), token)

    return on_outcome


def previous_warning(token: str | None, site_id: int, article_id: str, text: str) -> tuple[bool, bool]:
    """(was warned, rephrased since): from the token the widget sends back after a nudge."""
    if not token:
        return False, False
    try:
        payload = _serializer().loads(token, max_age=WARNING_TOKEN_MAX_AGE)
    except BadSignature:
        return False, False
    if not isinstance(payload, dict) or payload.get("s") != site_id or payload.get("a") != article_id:
        return False, False
    return True, payload.get("h") != _digest(text)
