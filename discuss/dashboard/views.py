"""Dashboard pages: queues, one comment, and the moderation actions. Thin: services do the work."""
from __future__ import annotations

import time

from flask import abort, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext, lazy_gettext, ngettext

from discuss.dashboard import bp
from discuss.dashboard.access import staff_page
from discuss.identity.staff import sites_by_slug
from discuss.moderation.presenters import build_items
from discuss.moderation.queues import (QUEUE_TITLES, QUEUES, SORTS, load_queue, parse_filters, queue_counts,
                                      visible_comment, visible_thread)
from discuss.dashboard.labels import action_label, error_text, reason_label
from discuss.errors import ApiError
from discuss.locales import N_
from discuss.security import parse_int_arg
from discuss.extensions import db
from discuss.models import RejectReason, User
from discuss.moderation import actions as moderation
from discuss.moderation.undo import latest_action_event, undo_event
from discuss.scoring import ScorerState
from discuss.scoring.runtime import get_scoring

BULK_UNDO_KEY = "bulk_undo"
UNDO_SECONDS = 10
# What the flash message says was done, in the staff member's language.
ACTION_DONE = {"approve": lazy_gettext("Approved"), "reject": lazy_gettext("Rejected"),
               "remove": lazy_gettext("Removed"), "restore": lazy_gettext("Restored"),
               "feature": lazy_gettext("Featured"), "unfeature": lazy_gettext("Unfeatured")}


def _done(action: str) -> str:
    return str(ACTION_DONE.get(action) or gettext("Done"))


def bulk_undo_offer() -> dict | None:
    """The last bulk action, while it can still be undone from the queue (10 s)."""
    offer = session.get(BULK_UNDO_KEY)
    if not offer or time.time() - offer.get("at", 0) > UNDO_SECONDS:
        return None
    return {**offer, "seconds_left": max(1, int(UNDO_SECONDS - (time.time() - offer["at"])))}


def page_context(site_id: int | None = None, **extra):
    """What every staff page shows: the sites you moderate and the queue counts."""
    sites = list(sites_by_slug(g.actor).values())
    current_site = next((s for s in sites if s.id == site_id), None)
    scorer = get_scoring().status()
    return {"actor": g.actor, "sites": sites, "current_site": current_site,
            "stats_site": current_site or (sites[0] if sites else None),
            "scorer_status": None if scorer["state"] == ScorerState.READY.value else scorer,
            "counts": queue_counts(g.actor, site_id), "queue_titles": QUEUE_TITLES, "queues": QUEUES,
            "reject_reasons": [r.value for r in RejectReason], **extra}


def wants_fetch_json() -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def back_to(default: str):
    target = request.form.get("next") or request.args.get("next") or ""
    if target.startswith("/mod") and not target.startswith("//"):
        return redirect(target)
    return redirect(default)


def action_failed(err: ApiError, default: str):
    if wants_fetch_json():
        return jsonify(err.to_dict()), err.status
    flash(error_text(err), "error")
    return back_to(default)


@bp.get("/")
@staff_page
def index():
    return redirect(url_for("dashboard.queue", queue="pending"))


@bp.get("/queue/<queue>")
@staff_page
def queue(queue: str):
    sites = sites_by_slug(g.actor)
    try:
        filters = parse_filters(queue, request.args, sites)
    except ApiError as err:
        flash(error_text(err), "error")
        return redirect(url_for("dashboard.queue", queue=queue if queue in QUEUES else "pending"))
    page = load_queue(g.actor, filters)
    items = build_items(page.comments, with_reports=True)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("dashboard/queue.html", page=page, items=items, filters=filters, sorts=SORTS,
                           bulk_undo=bulk_undo_offer(),
                           queue_name=queue, query_args=args, chips=filter_chips(queue, args),
                           **page_context(filters.site_id))


def filter_chips(queue: str, args: dict[str, str]) -> list[tuple[str, str, str]]:
    """Active filters as (label, value, link that drops it)."""
    labels = {"thread": gettext("thread"), "author": gettext("Author"), "reason": gettext("Reason"),
              "q": gettext("Search")}
    return [(label, reason_label(args[key]) if key == "reason" else args[key],
             url_for("dashboard.queue", queue=queue, **{k: v for k, v in args.items() if k != key}))
            for key, label in labels.items() if args.get(key)]


@bp.get("/comments/<int:comment_id>")
@staff_page
def comment_detail(comment_id: int):
    comment = visible_comment(g.actor, comment_id)
    if comment is None:
        abort(404)
    item = build_items([comment])[0]
    return render_template("dashboard/comment.html", item=item, **page_context(item.site.id))


@bp.post("/comments/<int:comment_id>/<action>")
@staff_page
def comment_action(comment_id: int, action: str):
    comment = visible_comment(g.actor, comment_id)
    if comment is None:
        abort(404)
    site_id = comment.thread.site_id
    try:
        moderation.apply_comment_action(g.actor, comment, action, reason=request.form.get("reason"),
                                        note=request.form.get("note"))
    except ApiError as err:
        return action_failed(err, url_for("dashboard.comment_detail", comment_id=comment_id))
    if wants_fetch_json():
        event = latest_action_event(g.actor, comment.id)
        return jsonify({"ok": True, "id": comment.id, "status": comment.status.value,
                        "event_id": event.id if event is not None else None,
                        "undo_url": url_for("dashboard.undo", event_id=event.id) if event is not None else None,
                        "counts": queue_counts(g.actor, _site_filter_id(site_id))})
    flash(gettext("%(done)s: comment #%(id)s.", done=_done(action), id=comment_id), "ok")
    return back_to(url_for("dashboard.comment_detail", comment_id=comment_id))


def _site_filter_id(default_site_id: int) -> int | None:
    """Counts in a fetch reply match the page's tabs: filtered by site only if the page is."""
    return default_site_id if request.form.get("site_filtered") == "1" else None


@bp.post("/bulk")
@staff_page
def bulk_action():
    ids = [int(i) for i in request.form.getlist("ids") if i.isascii() and i.isdigit() and len(i) <= 18]
    action = request.form.get("action", "")
    default = url_for("dashboard.queue", queue="pending")
    if not ids:
        return action_failed(ApiError("nothing_selected", N_("Select at least one comment.")), default)
    try:
        results = moderation.apply_bulk_action(g.actor, ids, action, reason=request.form.get("reason"),
                                               note=request.form.get("note"))
    except ApiError as err:
        return action_failed(err, default)
    done = sum(1 for r in results if r.ok)
    skipped = len(results) - done
    events = [latest_action_event(g.actor, r.comment_id) for r in results if r.ok]
    session[BULK_UNDO_KEY] = {"ids": [e.id for e in events if e is not None], "at": time.time(),
                              "label": ngettext("%(done)s: %(num)d comment", "%(done)s: %(num)d comments", done,
                                                done=_done(action))}
    flash(ngettext("%(done)s: %(num)d comment", "%(done)s: %(num)d comments", done, done=_done(action))
          + (gettext("; %(skipped)s skipped (not in a state that allows it)", skipped=skipped) if skipped else "")
          + ".",
          "ok" if not skipped else "warn")
    return back_to(default)


@bp.post("/authors/<int:user_id>/ban")
@staff_page
def ban_author(user_id: int):
    default = request.referrer or url_for("dashboard.index")
    try:
        site_id = parse_int_arg(request.form.get("site_id", ""), 1)
        if site_id is None:
            raise ValueError("site_id")
        days_raw = request.form.get("days", "").strip()
        days = parse_int_arg(days_raw, 1, moderation.MAX_BAN_DAYS) if days_raw != "permanent" else None
        moderation.ban_author(g.actor, site_id, user_id, days=days, reason=request.form.get("reason"),
                              reject_pending=request.form.get("reject_pending") == "1")
    except ValueError:
        return action_failed(ApiError("validation_failed", N_("Choose a site and a duration.")), default)
    except ApiError as err:
        return action_failed(err, default)
    user = db.session.get(User, user_id)
    name = user.display_name if user else user_id
    flash(ngettext("Suspended %(name)s for %(num)d day.", "Suspended %(name)s for %(num)d days.", days, name=name)
          if days else gettext("Banned %(name)s.", name=name), "ok")
    return back_to(default)


@bp.post("/authors/<int:user_id>/unban")
@staff_page
def unban_author(user_id: int):
    default = request.referrer or url_for("dashboard.index")
    try:
        lifted = moderation.lift_bans(g.actor, parse_int_arg(request.form.get("site_id", "0")) or 0, user_id)
    except (ValueError, ApiError) as err:
        return action_failed(err if isinstance(err, ApiError) else ApiError("bad_site", N_("Unknown site.")), default)
    flash(ngettext("Lifted %(num)d ban.", "Lifted %(num)d bans.", lifted), "ok")
    return back_to(default)


@bp.post("/threads/<int:thread_id>/edit")
@staff_page
def edit_thread(thread_id: int):
    thread = visible_thread(g.actor, thread_id)
    if thread is None:
        abort(404)
    default = request.referrer or url_for("dashboard.index")
    try:
        moderation.edit_thread(g.actor, thread, title=request.form.get("title", "")[:512],
                               url=request.form.get("url", "")[:2048])
    except ApiError as err:
        return action_failed(err, default)
    flash(gettext("Thread “%(title)s” updated.", title=thread.title or thread.article_id), "ok")
    return back_to(default)


@bp.post("/threads/<int:thread_id>/<action>")
@staff_page
def thread_action(thread_id: int, action: str):
    thread = visible_thread(g.actor, thread_id)
    if thread is None:
        abort(404)
    default = request.referrer or url_for("dashboard.index")
    try:
        moderation.apply_thread_action(g.actor, thread, action, note=request.form.get("note"))
    except ApiError as err:
        return action_failed(err, default)
    flash(gettext("Thread “%(title)s”: %(action)s.", title=thread.title or thread.article_id, action=action_label(action)),
          "ok")
    return back_to(default)


@bp.post("/bulk/undo")
@staff_page
def bulk_undo():
    offer = bulk_undo_offer()
    session.pop(BULK_UNDO_KEY, None)
    default = url_for("dashboard.queue", queue="pending")
    if offer is None:
        flash(gettext("Too late to undo from the queue: undo from the audit log instead."), "error")
        return back_to(default)
    undone = 0
    for event_id in offer["ids"]:
        try:
            undo_event(g.actor, event_id)
            undone += 1
        except ApiError:
            db.session.rollback()
    flash(gettext("Undone: %(undone)s of %(total)s.", undone=undone, total=len(offer["ids"])),
          "ok" if undone == len(offer["ids"]) else "warn")
    return back_to(default)
