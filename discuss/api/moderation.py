"""Moderation JSON API, /api/v1/moderation: the dashboard for publishers' own tools.

Authorized by a staff session (CSRF token required on writes, header ``X-CSRFToken``) or by a
site API token (``Authorization: Bearer dsk_...``, no CSRF: browsers never send it by themselves).
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask_wtf.csrf import CSRFError

from flask_login import current_user

from discuss.errors import ApiError, Forbidden, NotFound, ValidationFailed, error_response
from discuss.extensions import csrf
from discuss.identity import staff as staff_service
from discuss.identity.staff import Actor, configurable_site, sites_by_slug
from discuss.models import Comment, Site, Thread
from discuss.moderation import actions as moderation
from discuss.moderation.audit import PER_PAGE, load_events, parse_audit_filters
from discuss.moderation.presenters import build_items, comment_json, event_json
from discuss.moderation.queues import (QUEUES, load_queue, parse_filters, queue_counts, visible_comment,
                                       visible_thread)
from discuss.moderation.calibration import site_calibration
from discuss.moderation.replay_data import parse_range, run_replay
from discuss.moderation.sites import apply_thresholds, save_site_settings
from discuss.moderation.stats import parse_days, queue_health
from discuss.moderation.undo import undo_event

# Its own blueprint (in the API package) because its callers differ from the public API's:
# staff sessions and site tokens, no CORS. The public blueprint's CORS hooks stay off it.
api_bp = Blueprint("moderation_api", __name__, url_prefix="/api/v1/moderation")
csrf.exempt(api_bp)  # checked below, for session-authorized writes only
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip().startswith(staff_service.API_TOKEN_PREFIX):
        return None
    return token.strip()


def api_actor() -> Actor:
    """A site token (header ``Authorization: Bearer dsk_...``) or a staff session, else 401/403."""
    token = bearer_token()
    if token is not None:
        site = staff_service.site_for_api_token(token)
        if site is None:
            raise ApiError("invalid_token", "That API token is not valid.", 401)
        return Actor.for_site_token(site)
    if not current_user.is_authenticated:
        raise ApiError("unauthorized", "Sign in as staff or send a site API token.", 401)
    if not current_user.is_staff or not current_user.is_active_account:
        raise Forbidden("Staff only.")
    return Actor.for_user(current_user._get_current_object())


@api_bp.before_request
def authorize():
    g.actor = api_actor()
    session_write = bearer_token() is None and request.method in UNSAFE_METHODS
    if session_write and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()


@api_bp.errorhandler(CSRFError)
def csrf_failed(err: CSRFError):
    return error_response("csrf_failed", f"CSRF check failed: {err.description}", 400)


# A note's limit is the one moderation.actions enforces (schemathesis found the API describing 5000).
TEXT_FIELDS = {"action": 32, "reason": 1000, "note": moderation.MAX_NOTE_CHARS, "site": 64}


def json_body() -> dict[str, Any]:
    """A JSON object whose text fields, where present, are strings (or null) of bounded length."""
    if not request.is_json:
        raise ApiError("unsupported_media_type", "Send the request body as application/json.", 415)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError("invalid_json", "Send a JSON object.", 400)
    problems = {name: f"a string of at most {limit} characters" for name, limit in TEXT_FIELDS.items()
                if body.get(name) is not None and (not isinstance(body[name], str) or len(body[name]) > limit)}
    if "reject_pending" in body and not isinstance(body["reject_pending"], bool):
        problems["reject_pending"] = "true or false"
    if problems:
        raise ValidationFailed(problems)
    return body


def _site_id_from_args() -> int | None:
    slug = request.args.get("site")
    if not slug:
        return None
    site = sites_by_slug(g.actor).get(slug)
    if site is None:
        raise NotFound("site")
    return site.id


def _comment_or_404(comment_id: int) -> Comment:
    """A comment on one of the caller's sites; any other id is "not found", never "forbidden"."""
    found = visible_comment(g.actor, comment_id)
    if found is None:
        raise NotFound("comment")
    return found


def _thread_or_404(thread_id: int) -> Thread:
    found = visible_thread(g.actor, thread_id)
    if found is None:
        raise NotFound("thread")
    return found


@api_bp.get("/queues")
def queues():
    return jsonify({"queues": list(QUEUES), "counts": queue_counts(g.actor, _site_id_from_args())})


@api_bp.get("/queues/<queue>")
def queue(queue: str):
    filters = parse_filters(queue, request.args, sites_by_slug(g.actor))
    page = load_queue(g.actor, filters)
    return jsonify({"queue": queue, "items": [comment_json(item) for item in build_items(page.comments)],
                    "page": filters.page, "per_page": filters.per_page, "total": page.total,
                    "total_is_capped": page.capped, "pages": page.pages,
                    "counts": queue_counts(g.actor, filters.site_id)})


@api_bp.get("/comments/<int:comment_id>")
def comment(comment_id: int):
    found = _comment_or_404(comment_id)
    return jsonify({"comment": comment_json(build_items([found])[0], detail=True)})


@api_bp.post("/comments/<int:comment_id>/actions")
def comment_action(comment_id: int):
    body = json_body()
    found = _comment_or_404(comment_id)
    moderation.apply_comment_action(g.actor, found, str(body.get("action", "")),
                                    reason=body.get("reason"), note=body.get("note"))
    return jsonify({"comment": comment_json(build_items([found])[0], detail=True)})


@api_bp.post("/bulk")
def bulk():
    body = json_body()
    ids = body.get("ids")
    if isinstance(ids, list):  # JSON Schema's integers include 2.0 (schemathesis sends them)
        ids = [int(i) if isinstance(i, float) and i.is_integer() else i for i in ids]
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ValidationFailed({"ids": "a non-empty list of comment ids"})
    if len(ids) > moderation.MAX_BULK:
        raise ValidationFailed({"ids": f"at most {moderation.MAX_BULK} at once"})
    results = moderation.apply_bulk_action(g.actor, ids, str(body.get("action", "")),
                                           reason=body.get("reason"), note=body.get("note"))
    return jsonify({"results": [asdict(r) for r in results], "counts": queue_counts(g.actor)})


def _site_from_body(body: dict[str, Any]) -> Site:
    site = sites_by_slug(g.actor).get(str(body.get("site", "")))
    if site is None:
        raise ValidationFailed({"site": "the slug of a site you moderate"})
    return site


@api_bp.post("/authors/<int:user_id>/ban")
def ban(user_id: int):
    body = json_body()
    ban_row = moderation.ban_author(g.actor, _site_from_body(body).id, user_id, days=_days(body),
                                    reason=body.get("reason"), reject_pending=bool(body.get("reject_pending")))
    return jsonify({"ban": _ban_json(ban_row)}), 201


@api_bp.post("/bans")
def ban_by_email():
    """Ban an account reader by the email they registered with: ``{"site", "email", "days"?, "reason"?}``."""
    body = json_body()
    days = _days(body)
    email = body.get("email")
    if not isinstance(email, str) or not 3 <= len(email) <= 254:
        raise ValidationFailed({"email": "the email address of a comment account"})
    ban_row = moderation.ban_by_email(g.actor, _site_from_body(body).id, email, days=days,
                                      reason=body.get("reason"), reject_pending=bool(body.get("reject_pending")))
    return jsonify({"ban": _ban_json(ban_row)}), 201


def _days(body: dict[str, Any]) -> int | None:
    days = body.get("days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
        raise ValidationFailed({"days": "a whole number of days, or null for a permanent ban"})
    return days


def _ban_json(ban_row) -> dict[str, Any]:
    return {"id": ban_row.id, "user_id": ban_row.user_id,
            "until": ban_row.until.isoformat() if ban_row.until else None, "reason": ban_row.reason,
            "covers_ip_until": ban_row.ip_until.isoformat() if ban_row.ip_until else None}


@api_bp.post("/authors/<int:user_id>/unban")
def unban(user_id: int):
    lifted = moderation.lift_bans(g.actor, _site_from_body(json_body()).id, user_id)
    return jsonify({"lifted": lifted})


@api_bp.post("/threads/<int:thread_id>/actions")
def thread_action(thread_id: int):
    body = json_body()
    thread = _thread_or_404(thread_id)
    moderation.apply_thread_action(g.actor, thread, str(body.get("action", "")), note=body.get("note"))
    return jsonify({"thread": {"id": thread.id, "is_closed": thread.is_closed,
                               "is_premoderated": thread.is_premoderated}})


@api_bp.patch("/threads/<int:thread_id>")
def edit_thread(thread_id: int):
    """Correct a thread's title or article URL: ``{"title"?, "url"?}``."""
    body = json_body()
    thread = _thread_or_404(thread_id)
    problems = {name: f"a string of at most {limit} characters" for name, limit in (("title", 512), ("url", 2048))
                if body.get(name) is not None and (not isinstance(body[name], str) or len(body[name]) > limit)}
    if problems:
        raise ValidationFailed(problems)
    moderation.edit_thread(g.actor, thread, title=body.get("title"), url=body.get("url"))
    return jsonify({"thread": {"id": thread.id, "title": thread.title, "url": thread.url}})


@api_bp.get("/audit")
def audit():
    filters = parse_audit_filters(request.args, sites_by_slug(g.actor))
    events, total, capped = load_events(g.actor, filters)
    return jsonify({"events": [event_json(e) for e in events], "total": total, "total_is_capped": capped,
                    "page": filters.page,
                    "per_page": PER_PAGE})


@api_bp.get("/sites/<slug>/settings")
def get_settings(slug: str):
    site = configurable_site(g.actor, slug)
    return jsonify({"site": site.slug, "settings": site.effective_settings(),
                    "allowed_origins": site.allowed_origins})


@api_bp.patch("/sites/<slug>/settings")
def patch_settings(slug: str):
    site = configurable_site(g.actor, slug)
    body = json_body()
    origins = body.pop("allowed_origins", None)
    if origins is not None and (not isinstance(origins, list) or not all(isinstance(o, str) for o in origins)):
        raise ValidationFailed({"allowed_origins": "a list of origins"})
    save_site_settings(g.actor, site, body.get("settings", body), origins=origins)
    return jsonify({"site": site.slug, "settings": site.effective_settings(),
                    "allowed_origins": site.allowed_origins})


# -- moderation intelligence: queue health, calibration, replay, thresholds, undo ----------------

def moderated_site(slug: str) -> Site:
    site = sites_by_slug(g.actor).get(slug)
    if site is None:
        raise NotFound("site")
    return site


@api_bp.get("/sites/<slug>/stats")
def site_stats(slug: str):
    return jsonify(queue_health(moderated_site(slug), parse_days(request.args.get("days"))))


@api_bp.get("/sites/<slug>/calibration")
def site_calibration_view(slug: str):
    since, until = parse_range(request.args)
    return jsonify(site_calibration(moderated_site(slug), since, until, request.args.get("target_recall")))


@api_bp.post("/sites/<slug>/replay")
def site_replay(slug: str):
    return jsonify(run_replay(moderated_site(slug), json_body()))


@api_bp.post("/sites/<slug>/thresholds")
def site_apply_thresholds(slug: str):
    site = configurable_site(g.actor, slug)
    body = json_body()
    unknown = sorted(set(body) - {"hold_thresholds", "reject_thresholds", "note"})
    if unknown:
        raise ValidationFailed({key: "unknown field" for key in unknown})
    apply_thresholds(g.actor, site, body.get("hold_thresholds"), body.get("reject_thresholds"), body.get("note"))
    settings = site.effective_settings()
    return jsonify({"site": site.slug, "hold_thresholds": settings["hold_thresholds"],
                    "reject_thresholds": settings["reject_thresholds"]})


@api_bp.post("/events/<int:event_id>/undo")
def undo(event_id: int):
    return jsonify({"event": event_json(undo_event(g.actor, event_id))})
