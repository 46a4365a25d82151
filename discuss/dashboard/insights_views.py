"""Dashboard pages for moderation intelligence: queue health, calibration, replay, thresholds; undo."""
from __future__ import annotations

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext

from discuss.dashboard import bp
from discuss.dashboard.access import staff_page
from discuss.dashboard.charts import Series, hbars, stacked_bars
from discuss.dashboard.settings_form import threshold_labels
from discuss.dashboard.views import action_failed, back_to, page_context, wants_fetch_json
from discuss.dashboard.labels import action_label, reason_label
from discuss.errors import ApiError
from discuss.locales import N_
from discuss.identity.staff import sites_by_slug
from discuss.moderation.calibration import site_calibration
from discuss.moderation.queues import queue_counts
from discuss.moderation.replay_data import parse_range, run_replay
from discuss.moderation.sites import apply_thresholds
from discuss.moderation.stats import parse_days, queue_health
from discuss.moderation.undo import undo_event

# Series names are lazy: charts and legends are drawn in the staff member's language.
OUTCOME_SERIES = (("published_auto", lazy_gettext("Published automatically"), "pub"),
                  ("held_auto_total", lazy_gettext("Held automatically"), "held"),
                  ("rejected_auto", lazy_gettext("Rejected automatically"), "rej"))
DECISION_SERIES = (("approved", lazy_gettext("Approved by a moderator"), "pub"),
                   ("rejected", lazy_gettext("Rejected by a moderator"), "rej"),
                   ("removed", lazy_gettext("Removed by a moderator"), "removed"))


def _site(slug: str):
    site = sites_by_slug(g.actor).get(slug)
    if site is None:
        abort(404)
    return site


def stats_charts(stats: dict) -> dict:
    days = [d["day"] for d in stats["per_day"]]

    def series(spec):
        return [Series(str(name), css, [d[key] for d in stats["per_day"]]) for key, name, css in spec]

    funnel = stats["nudge_funnel"]
    return {
        "outcomes": stacked_bars(gettext("Comments per day by automatic outcome"), days, series(OUTCOME_SERIES)),
        "outcome_legend": [(str(name), css) for _, name, css in OUTCOME_SERIES],
        "decisions": stacked_bars(gettext("Moderator decisions per day"), days, series(DECISION_SERIES)),
        "decision_legend": [(str(name), css) for _, name, css in DECISION_SERIES],
        "reports": stacked_bars(gettext("Reports per day"), days, [Series(gettext("Reports"), "reports",
                                                                         [d["reports"] for d in stats["per_day"]])]),
        "reasons": hbars(gettext("Top reasons for automatic holds and rejections"),
                         [(reason_label(r["reason"]), r["count"], "held") for r in stats["top_reasons"]]),
        "funnel": hbars(gettext("Nudge funnel"), [(gettext("warned"), funnel["warned"], "reports"),
                                                  (gettext("rephrased"), funnel["rephrased"], "pub"),
                                                  (gettext("posted anyway"), funnel["posted_anyway"], "held"),
                                                  (gettext("abandoned"), funnel["abandoned"], "removed")]),
    }


def _replay_body(args, labels: list[str]) -> dict:
    body: dict = {"from": args.get("from") or None, "to": args.get("to") or None}
    for key, prefix in (("hold_thresholds", "hold."), ("reject_thresholds", "reject.")):
        values = {}
        for label in labels:
            raw = (args.get(prefix + label) or "").strip()
            if raw:
                try:
                    values[label] = float(raw)
                except ValueError:
                    raise ApiError("validation_failed", N_("Thresholds are numbers between 0 and 1."), 400,
                                   fields={prefix + label: N_("a number between 0 and 1")}) from None
        if values:
            body[key] = values
    return {k: v for k, v in body.items() if v is not None}


@bp.get("/sites/<slug>/stats")
@staff_page
def site_stats(slug: str):
    site = _site(slug)
    settings = site.effective_settings()
    labels = threshold_labels(settings)
    errors: dict[str, str] = {}
    try:
        days = parse_days(request.args.get("days"))
    except ApiError as err:
        errors.update(err.localized_fields())
        days = 30
    stats = queue_health(site, days)
    replay_result = None
    # Calibration and replay cover the same days as the charts unless the form names a range.
    args = {"from": stats["since"][:10], **{k: v for k, v in request.args.items() if v}}
    try:
        since, until = parse_range(args)
        calibration = site_calibration(site, since, until, request.args.get("target_recall"))
        if request.args.get("replay"):
            replay_result = run_replay(site, _replay_body(args, labels))
    except ApiError as err:
        errors.update(err.localized_fields() or {"form": err.localized_message()})
        since, until = parse_range({})
        calibration = site_calibration(site, since, until)
    suggested_args = {f"hold.{label}": s["threshold"] for label, s in calibration["suggested"].items()
                      if s.get("threshold") is not None}
    return render_template("dashboard/stats.html", site=site, stats=stats, charts=stats_charts(stats), days=days,
                           suggested_args=suggested_args,
                           calibration=calibration, replay=replay_result, labels=labels, settings=settings,
                           errors=errors, args=args, range_from=since.date().isoformat(),
                           range_to=request.args.get("to") or "", **page_context(site.id))


@bp.post("/sites/<slug>/thresholds")
@staff_page
def apply_site_thresholds(slug: str):
    site = _site(slug)
    default = url_for("dashboard.site_stats", slug=slug)
    if not g.actor.can_configure(site.id):
        abort(403)
    labels = threshold_labels(site.effective_settings())
    try:
        body = _replay_body(request.form, labels)
        apply_thresholds(g.actor, site, body.get("hold_thresholds"), body.get("reject_thresholds"),
                         request.form.get("note"))
    except ApiError as err:
        return action_failed(err, default)
    flash(gettext("Thresholds applied. They decide the next comment posted; the audit log can undo this."), "ok")
    return redirect(default)


@bp.post("/events/<int:event_id>/undo")
@staff_page
def undo(event_id: int):
    default = url_for("dashboard.audit_log")
    try:
        event = undo_event(g.actor, event_id)
    except ApiError as err:
        return action_failed(err, default)
    if wants_fetch_json():
        return jsonify({"ok": True, "undo_id": event.id, "comment_id": event.comment_id,
                        "status": event.to_status, "counts": queue_counts(g.actor)})
    flash(gettext("Undone: %(action)s (audit entry #%(id)s).", action=action_label(event.details.get("undone_action", "")),
                  id=event_id), "ok")
    return back_to(default)
