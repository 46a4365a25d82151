"""Words for the codes staff see: audit actions, reason codes, report and reject reasons, score
labels, and the field names in an error. The codes stay what forms submit and URLs filter on
(``<option value="approve">``); only the text shown is translated. An unknown code is shown as is.

Registered as Jinja filters (``action_label``, ``reason_label``, ``score_label``,
``report_reason_label``, ``reject_reason_label``) and used by the views for flash messages.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from babel.dates import format_timedelta
from flask_babel import get_locale, gettext, lazy_gettext

from discuss.errors import ApiError
from discuss.models import utcnow

ACTION_LABELS = {
    "approve": lazy_gettext("approved"), "reject": lazy_gettext("rejected"), "remove": lazy_gettext("removed"),
    "restore": lazy_gettext("restored"), "feature": lazy_gettext("featured"),
    "unfeature": lazy_gettext("unfeatured"), "close": lazy_gettext("thread closed"),
    "reopen": lazy_gettext("thread reopened"), "premoderate": lazy_gettext("thread pre-moderated"),
    "unpremoderate": lazy_gettext("thread pre-moderation ended"), "create": lazy_gettext("posted"),
    "edit": lazy_gettext("edited by the author"), "rescore": lazy_gettext("scored again"),
    "delete": lazy_gettext("deleted by the author"), "hold": lazy_gettext("held for review"),
    "report": lazy_gettext("reported"), "settings": lazy_gettext("settings changed"),
    "apply_thresholds": lazy_gettext("thresholds applied"), "suspend": lazy_gettext("suspended"),
    "ban": lazy_gettext("banned"), "unban": lazy_gettext("ban lifted"), "undo": lazy_gettext("undone"),
    "edit_thread": lazy_gettext("thread title or URL corrected"), "export": lazy_gettext("exported"),
    "import": lazy_gettext("imported"), "route_imported": lazy_gettext("imported comment routed"),
    "account_deleted": lazy_gettext("account deleted"),
    # the staff log (/mod/staff)
    "invite": lazy_gettext("invited"), "roles": lazy_gettext("roles changed"),
    "deactivate": lazy_gettext("deactivated"), "reactivate": lazy_gettext("reactivated"),
    "update": lazy_gettext("profile updated"), "accept_invite": lazy_gettext("invitation accepted"),
    "password_reset": lazy_gettext("password reset"),
}

SCORE_LABELS = {
    "toxicity": lazy_gettext("toxicity"), "severe_toxicity": lazy_gettext("severe toxicity"),
    "obscene": lazy_gettext("obscene"), "identity_attack": lazy_gettext("identity attack"),
    "insult": lazy_gettext("insult"), "threat": lazy_gettext("threat"),
    "sexual_explicit": lazy_gettext("sexually explicit"),
}

REPORT_REASON_LABELS = {
    "spam": lazy_gettext("spam"), "abuse": lazy_gettext("abuse"), "offensive": lazy_gettext("offensive"),
    "off_topic": lazy_gettext("off topic"), "other": lazy_gettext("other"),
}
REJECT_REASON_LABELS = {**REPORT_REASON_LABELS, "harassment": lazy_gettext("harassment"),
                        "hate": lazy_gettext("hate")}

# Reason codes are "kind" or "kind:detail" (moderation.rules, actions, reactions, reports).
REASON_KINDS = {
    "toxicity": lazy_gettext("toxicity score"), "banned_word": lazy_gettext("banned word"),
    "suspect_word": lazy_gettext("suspect word"), "banned_author": lazy_gettext("banned author"),
    "ban_evasion": lazy_gettext("possible ban evasion (same address)"),
    "scoring_unavailable": lazy_gettext("not scored: scorer unavailable"),
    "scoring_queued": lazy_gettext("waiting to be scored"), "links": lazy_gettext("links"),
    "premoderation": lazy_gettext("pre-moderation"), "reject": lazy_gettext("rejected by a moderator"),
    "report": lazy_gettext("report"), "reports_threshold": lazy_gettext("held after enough reports"),
    "nudge": lazy_gettext("posted after the toxicity warning"),
    "commenting_disabled": lazy_gettext("comments off"), "thread_closed": lazy_gettext("thread closed"),
}
REASON_DETAILS = {
    "premoderated": lazy_gettext("pre-moderated"), "too_many": lazy_gettext("too many"),
    "site": lazy_gettext("whole site"), "thread": lazy_gettext("this thread"),
    "user": lazy_gettext("this author"), "new_commenter": lazy_gettext("new commenter"),
    "acknowledged": lazy_gettext("acknowledged"),
}

# Field names in a validation error, for "Note: at most 1000 characters".
FIELD_LABELS = {
    "reason": lazy_gettext("Reason"), "note": lazy_gettext("Note"), "days": lazy_gettext("days"),
    "site": lazy_gettext("Site"), "site_id": lazy_gettext("Site"), "action": lazy_gettext("Action"),
    "url": lazy_gettext("URL"), "title": lazy_gettext("Title"), "sort": lazy_gettext("Sort"),
    "thread": lazy_gettext("thread"), "author": lazy_gettext("Author"), "page": lazy_gettext("Page"),
    "per_page": lazy_gettext("Page"), "comment": lazy_gettext("Comment #"), "queue": lazy_gettext("Queue"),
    "role": lazy_gettext("Role"), "sites": lazy_gettext("Sites"), "email": lazy_gettext("Email"),
    "from": lazy_gettext("From"), "to": lazy_gettext("To"), "target_recall": lazy_gettext("Target recall"),
    "sample": lazy_gettext("Sample"),
}


def _label(table: dict, code) -> str:
    text = table.get(str(code)) if code is not None else None
    return str(text) if text is not None else ("" if code is None else str(code))


def action_label(code: str | None) -> str:
    return _label(ACTION_LABELS, code)


def score_label(code: str | None) -> str:
    text = SCORE_LABELS.get(str(code))
    return str(text) if text is not None else str(code or "").replace("_", " ")


def report_reason_label(code) -> str:
    return _label(REPORT_REASON_LABELS, getattr(code, "value", code))


def reject_reason_label(code) -> str:
    return _label(REJECT_REASON_LABELS, getattr(code, "value", code))


def reason_label(code: str | None) -> str:
    """'toxicity:insult' -> 'toxicity score: insult'; 'reject:spam' -> 'rejected by a moderator: spam'."""
    kind, _, detail = str(code or "").partition(":")
    if kind not in REASON_KINDS:
        return str(code or "")
    if not detail:
        return str(REASON_KINDS[kind])
    if kind == "toxicity":
        shown = score_label(detail)
    elif kind in ("reject", "report"):
        shown = reject_reason_label(detail)
    else:
        shown = _label(REASON_DETAILS, detail)
    return gettext("%(kind)s: %(detail)s", kind=REASON_KINDS[kind], detail=shown)


def field_label(name: str) -> str:
    """A form field's name as staff read it; 'hold.insult' (a threshold box) as its score label."""
    if "." in name and name.split(".", 1)[0] in ("hold", "reject", "hold_thresholds", "reject_thresholds"):
        return score_label(name.split(".", 1)[1])
    return _label(FIELD_LABELS, name)


def error_text(err: ApiError) -> str:
    """An error for a flash message: its message and each field's problem, in the staff member's
    language ("Some fields are not valid. Note: at most 1000 characters")."""
    fields = "; ".join(gettext("%(field)s: %(problem)s", field=field_label(name), problem=problem)
                       for name, problem in err.localized_fields().items())
    return f"{err.localized_message()} {fields}".strip()


def when(moment: datetime | None) -> str:
    """Compact relative time for dense lists, in the page's language: 'now', '5m', '3h', '2d'
    ('5 Min.', '3 год'), or a date after 30 days."""
    if moment is None:
        return ""
    seconds = (utcnow() - moment).total_seconds()
    if seconds < 60:
        return gettext("now")
    if seconds >= 86400 * 30:
        return moment.strftime("%Y-%m-%d")
    locale = get_locale() or "en"
    narrow = str(locale).startswith("en")  # narrow English is '5m'; elsewhere it gets cryptic ('5х')
    return format_timedelta(timedelta(seconds=seconds), format="narrow" if narrow else "short", threshold=1,
                            locale=locale)


FILTERS = {"when": when, "field_label": field_label, "action_label": action_label, "reason_label": reason_label, "score_label": score_label,
           "report_reason_label": report_reason_label, "reject_reason_label": reject_reason_label}
