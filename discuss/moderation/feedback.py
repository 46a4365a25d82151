"""What the author of a rejected comment is told, by the site's ``rejection_feedback`` setting.

"quiet" says only that the comment was not published; "explain" also says why, in words a
reader understands, plus the reason codes. Neither ever names the listed words themselves,
so the answer cannot be used to read out a site's word list.
"""
from __future__ import annotations

from typing import Any

QUIET_MESSAGE = "Your comment was not published: it does not meet this site's guidelines."
_EXPLANATIONS = {
    "banned_word": "it contains a word this site does not allow",
    "banned_author": "you may not comment on this site at the moment",
    "toxicity": "it was scored as likely to be hurtful",
}


def _explain(reason: str) -> str | None:
    return _EXPLANATIONS.get(reason.split(":", 1)[0])


def rejection_answer(settings: dict[str, Any], reasons: list[str]) -> dict[str, Any]:
    """The ``message`` (and, when the site explains, ``reasons``) for a rejected comment."""
    if settings.get("rejection_feedback") != "explain":
        return {"message": QUIET_MESSAGE}
    explanations = list(dict.fromkeys(e for e in (_explain(r) for r in reasons) if e))
    if not explanations:
        return {"message": QUIET_MESSAGE, "reasons": list(reasons)}
    message = "Your comment was not published: " + "; ".join(explanations) + "."
    return {"message": message, "reasons": list(reasons)}
