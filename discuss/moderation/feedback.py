"""What the author of a rejected comment is told, by the site's ``rejection_feedback`` setting.

"quiet" says only that the comment was not published; "explain" also says why, in words a
reader understands, plus the reason codes. Neither ever names the listed words themselves,
so the answer cannot be used to read out a site's word list.

The texts are English locales.Text values: the API says them in the reader's language
(``Accept-Language``, which the widget sets to its own), and the ``reasons`` codes stay the same.
"""
from __future__ import annotations

from typing import Any

from discuss.locales import N_, TextList

QUIET_MESSAGE = N_("Your comment was not published: it does not meet this site's guidelines.")
_EXPLANATIONS = {
    "banned_word": N_("it contains a word this site does not allow"),
    "banned_author": N_("you may not comment on this site at the moment"),
    "toxicity": N_("it was scored as likely to be hurtful"),
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
    message = N_("Your comment was not published: %(why)s.", why=TextList(explanations))
    return {"message": message, "reasons": list(reasons)}
