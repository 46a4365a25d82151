"""The moderation half of the OpenAPI description (/api/v1/moderation): staff sessions or a site token."""
from __future__ import annotations

from typing import Any, Callable

from discuss.api.moderation import TEXT_FIELDS
from discuss.models import RejectReason
from discuss.models.queries import COUNT_CAP
from discuss.moderation.actions import COMMENT_ACTIONS, MAX_BAN_DAYS, MAX_BULK, THREAD_ACTIONS
from discuss.moderation.queues import MAX_PER_PAGE, QUEUES, SORTS
from discuss.security import ID_MAX, MAX_PAGE_NUMBER

STAFF = [{"siteToken": []}, {"staffSession": []}]


def _text(name: str) -> dict[str, Any]:
    return {"type": ["string", "null"], "maxLength": TEXT_FIELDS[name]}


def moderation_paths(op: Callable, answer: Callable, body: Callable, ref: Callable, id_schema: dict) -> dict[str, Any]:
    def staff(summary: str, responses: dict, **kwargs) -> dict[str, Any]:
        return op(summary, responses, security=STAFF, tag="moderation", **kwargs)

    def number(name: str, maximum: int) -> dict[str, Any]:
        # An empty value (a blank filter box in a form) means "no filter".
        return {"name": name, "in": "query", "schema": {"anyOf": [
            {"type": "integer", "minimum": 0, "maximum": maximum}, {"const": ""}]}}

    def text(name: str) -> dict[str, Any]:
        return {"name": name, "in": "query", "schema": {"type": "string"},
                "description": "Free text; longer values are cut, not refused."}

    site_q = {"name": "site", "in": "query", "schema": {"type": "string", "maxLength": 64}}
    comment_id = {"name": "comment_id", "in": "path", "required": True, "schema": id_schema}
    user_id = {"name": "user_id", "in": "path", "required": True, "schema": id_schema}
    ban_body = {"type": "object", "required": ["site"], "properties": {
        "site": {"type": "string", "maxLength": 64}, "days": {"type": ["integer", "null"], "minimum": 1,
                                                              "maximum": MAX_BAN_DAYS},
        "reason": _text("reason"), "reject_pending": {"type": "boolean"}}}
    ban_answer = answer("The ban.", {"type": "object", "required": ["ban"]}, status="201")
    action = {"type": "object", "required": ["action"], "properties": {
        "action": {"enum": list(COMMENT_ACTIONS)},
        "reason": {**_text("reason"), "description": "For reject and remove, one of: "
                   + ", ".join(r.value for r in RejectReason) + " (default other); ignored otherwise."},
        "note": _text("note")},
        # reject and remove take a reason from the list; the other actions ignore it.
        "if": {"required": ["action"], "properties": {"action": {"enum": ["reject", "remove"]}}},
        "then": {"properties": {"reason": {"enum": [r.value for r in RejectReason] + [None]}}}}
    capped_total = {  # issue 19: counting a broad filter over a million rows took most of a second
        "total": {"type": "integer", "minimum": 0, "description": (
            "How many match. A whole queue's size is exact (stored counts). With a filter (thread, author, "
            f"reason) and in the audit log, rows are counted only up to {COUNT_CAP:,} (or to the end of the page "
            "asked for, if further), and a text search (q) only up to the end of the page asked for: then total "
            "is that many and total_is_capped is true.")},
        "total_is_capped": {"type": "boolean", "description": (
            "true: there are more than total; page on while items come back. Older clients that read only "
            "total see the cap.")}}
    return {
        "/moderation/queues": {"get": staff("Queue names and their counts.", answer(
            "Counts.", {"type": "object", "required": ["queues", "counts"]}), params=[site_q])},
        "/moderation/queues/{queue}": {"get": staff("One queue, a page at a time.", answer(
            "Items.", {"type": "object", "required": ["items", "total"], "properties": capped_total}), params=[
            {"name": "queue", "in": "path", "required": True, "schema": {"enum": list(QUEUES)}}, site_q,
            number("thread", ID_MAX), number("author", ID_MAX), number("page", MAX_PAGE_NUMBER),
            {**number("per_page", 2**63 - 1), "description": f"Items per page, capped at {MAX_PER_PAGE}."},
            {"name": "sort", "in": "query", "schema": {"enum": list(SORTS)}}, text("reason"),
            {**text("q"), "description": "Text or author name contains this (any case); longer values are cut, "
             "not refused. A search lists the newest matches first whatever sort says, and counts them only as far "
             "as the page asked for: total_is_capped is then true."}])},
        "/moderation/comments/{comment_id}": {"get": staff("One comment with scores, reasons and history.", answer(
            "The comment.", {"type": "object", "required": ["comment"]}), params=[comment_id])},
        "/moderation/comments/{comment_id}/actions": {"post": staff(
            "Approve, reject, remove, restore, feature or unfeature.", answer(
                "The comment after the action.", {"type": "object", "required": ["comment"]}),
            params=[comment_id], request=body(action))},
        "/moderation/bulk": {"post": staff("One action on many comments.", answer(
            "Each comment's outcome.", {"type": "object", "required": ["results"]}), request=body({
                **action, "required": ["action", "ids"], "properties": {**action["properties"], "ids": {
                    "type": "array", "minItems": 1, "maxItems": MAX_BULK, "description": "Comment ids; each "
                    "unknown or invisible id is reported in its result.",
                    "items": {"type": "integer", "minimum": -2**63, "maximum": 2**63 - 1}}}}))},
        "/moderation/authors/{user_id}/ban": {"post": staff(
            "Ban (days null) or suspend an author on a site; covers their address for ban_ip_days.", ban_answer,
            params=[user_id], request=body(ban_body))},
        "/moderation/authors/{user_id}/unban": {"post": staff("Lift an author's bans on a site.", answer(
            "How many were lifted.", {"type": "object", "required": ["lifted"]}), params=[user_id], request=body({
                "type": "object", "required": ["site"], "properties": {"site": {"type": "string", "maxLength": 64}}}))},
        "/moderation/bans": {"post": staff("Ban a comment account by its email address.", ban_answer, request=body({
            **ban_body, "required": ["site", "email"], "properties": {
                **ban_body["properties"], "email": {"type": "string", "minLength": 3, "maxLength": 254}}}))},
        "/moderation/threads/{thread_id}/actions": {"post": staff("Close, reopen or pre-moderate a thread.", answer(
            "The thread.", {"type": "object", "required": ["thread"]}), params=[
            {"name": "thread_id", "in": "path", "required": True, "schema": id_schema}], request=body({
                "type": "object", "required": ["action"], "properties": {
                    "action": {"enum": list(THREAD_ACTIONS)}, "note": _text("note")}}))},
        "/moderation/threads/{thread_id}": {"patch": staff("Correct a thread's title or article URL (audited).", answer(
            "The thread.", {"type": "object", "required": ["thread"]}), params=[
            {"name": "thread_id", "in": "path", "required": True, "schema": id_schema}], request=body({
                "type": "object", "properties": {"title": {"type": ["string", "null"], "maxLength": 512},
                                                 "url": {"type": ["string", "null"], "maxLength": 2048}}}))},
        "/moderation/audit": {"get": staff("The audit log.", answer("Events.", {
            "type": "object", "required": ["events", "total"], "properties": capped_total}), params=[
            site_q, number("comment", ID_MAX), number("page", MAX_PAGE_NUMBER),
            text("action"), text("actor")])},
        "/moderation/sites/{slug}/settings": {
            method: staff(summary, answer("The site's settings.", {
                "type": "object", "required": ["site", "settings", "allowed_origins"]}),
                params=[{"name": "slug", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}],
                **({"request": body({"type": "object", "description": "Changed settings (see models/settings.py), "
                                     "optionally under \"settings\", and \"allowed_origins\"."})}
                   if method == "patch" else {}))
            for method, summary in (("get", "A site's settings (admins and the site's token)."),
                                    ("patch", "Change a site's settings."))},
        **_insight_paths(staff, answer, body, id_schema),
    }


def _insight_paths(staff: Callable, answer: Callable, body: Callable, id_schema: dict) -> dict[str, Any]:
    """Queue health, calibration, replay, thresholds and undo (docs/moderation-intelligence.md)."""
    slug = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
    day = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "format": "date",
           "description": "YYYY-MM-DD (UTC); default: the last 30 days."}
    thresholds = {"type": "object", "description": "label -> score in (0, 1]",
                  "additionalProperties": {"type": "number"}}
    obj = {"type": "object"}
    return {
        "/moderation/sites/{slug}/stats": {"get": staff("Queue health: outcomes per day, queue, time to "
                                                        "decision, reports, reasons, the nudge funnel.", answer(
            "The stats.", obj), params=[slug, {"name": "days", "in": "query", "schema": {"type": "string"}}])},
        "/moderation/sites/{slug}/calibration": {"get": staff("How well the thresholds agree with moderators.", answer(
            "Per-label calibration.", obj), params=[slug, *({"name": key, "in": "query", "schema": day}
                                                            for key in ("from", "to")),
                                                    {"name": "target_recall", "in": "query", "schema": {"type": "string"}}])},
        "/moderation/sites/{slug}/replay": {"post": staff("What would change with other thresholds.", answer(
            "Transitions, their moderator decisions and suggested thresholds.", obj), params=[slug], request=body({
                "type": "object", "properties": {"hold_thresholds": thresholds, "reject_thresholds": thresholds,
                                                 "from": day, "to": day, "target_recall": {"type": "number"}}}))},
        "/moderation/sites/{slug}/thresholds": {"post": staff("Apply thresholds (admins; one audited action).",
                                                              answer("The site's thresholds now.", obj),
                                                              params=[slug], request=body({
            "type": "object", "additionalProperties": False, "properties": {
                "hold_thresholds": thresholds, "reject_thresholds": thresholds,
                "note": {"type": ["string", "null"]}}}))},
        "/moderation/events/{event_id}/undo": {"post": staff("Undo a moderation action (409 not_reversible "
                                                             "when the comment changed since).", answer(
            "The undo event.", {"type": "object", "required": ["event"]}), params=[
            {"name": "event_id", "in": "path", "required": True, "schema": id_schema}])},
    }
