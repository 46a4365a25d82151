"""Dashboard pages for the audit log, site settings and API tokens."""
from __future__ import annotations

from flask import (Response, abort, current_app, flash, g, redirect, render_template, request, stream_with_context,
                   url_for)
from flask_babel import gettext

from discuss.comments.export import audit_export, export_lines
from discuss.dashboard import bp
from discuss.dashboard.access import staff_page
from discuss.identity.staff import sites_by_slug
from discuss.moderation.audit import PER_PAGE, known_actions, load_events, parse_audit_filters
from discuss.moderation.presenters import actor_name
from discuss.dashboard.settings_form import (CHOICE_OPTIONS, HELP, LABELS, parse_origins,
                                             parse_settings_form, threshold_labels)
from discuss.dashboard.labels import error_text
from discuss.dashboard.views import page_context
from discuss.errors import ApiError
from discuss.identity import staff as staff_service
from discuss.models import utcnow
from discuss.models.settings import BOOL_KEYS, IDENTITIES, INT_RANGES
from discuss.moderation.sites import save_site_settings
from discuss.dashboard.webhook_panel import webhook_context
from discuss.jobs import webhooks as webhook_service
from discuss.locales import LANGUAGES, model_covers, models_for
from discuss.moderation.undo import reversible, undone_ids


@bp.get("/audit")
@staff_page
def audit_log():
    sites = sites_by_slug(g.actor)
    try:
        filters = parse_audit_filters(request.args, sites)
    except ApiError as err:
        flash(error_text(err), "error")
        return redirect(url_for("dashboard.audit_log"))
    events, total, capped = load_events(g.actor, filters)
    slugs = {site.id: slug for slug, site in sites.items()}
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    undone = undone_ids([e.id for e in events])
    return render_template("dashboard/audit.html", events=events, total=total, capped=capped, filters=filters,
                           per_page=PER_PAGE, actions=known_actions(g.actor), site_slugs=slugs,
                           undone=undone, reversible=reversible,
                           actor_name=actor_name, query_args=args, **page_context(filters.site_id))


def _settings_site(slug: str):
    site = sites_by_slug(g.actor).get(slug)
    if site is None:
        abort(404)
    if not g.actor.can_configure(site.id):
        abort(403)
    return site


@bp.route("/sites/<slug>/settings", methods=["GET", "POST"])
@staff_page
def site_settings(slug: str):
    site = _settings_site(slug)
    settings = site.effective_settings()
    errors: dict[str, str] = {}
    if request.method == "POST":
        changes, errors = parse_settings_form(request.form, settings)
        if not errors:
            try:
                save_site_settings(g.actor, site, changes, origins=parse_origins(request.form))
            except ApiError as err:
                errors = err.localized_fields() or {"form": err.localized_message()}
            else:
                flash(gettext("Settings saved. They apply to the next comment posted."), "ok")
                return redirect(url_for("dashboard.site_settings", slug=slug))
        flash(gettext("Some settings were not saved; see the highlighted fields."), "error")
        settings = {**settings, **{k: v for k, v in changes.items() if k not in errors}}
    return _render_settings(site, settings, errors)


def _render_settings(site, settings: dict, errors: dict[str, str], new_token: str | None = None, **webhook):
    return render_template("dashboard/settings.html", site=site, settings=settings, errors=errors,
                           labels=threshold_labels(settings), int_keys=INT_RANGES, bool_keys=BOOL_KEYS,
                           choices=CHOICE_OPTIONS, identities=IDENTITIES, help=HELP, names=LABELS,
                           new_token=new_token, languages=LANGUAGES, language_warning=language_warning(settings),
                           **webhook_context(site, **webhook), **page_context(site.id))


def language_warning(settings: dict) -> str | None:
    """The site's language is not one the toxicity model was trained on: its scores mean little."""
    model = current_app.config.get("TOXICITY_MODEL", "unbiased")
    language = settings.get("language")
    if language not in LANGUAGES or model_covers(model, language):
        return None
    better = models_for(language)
    advice = (gettext("Use DISCUSS_TOXICITY_MODEL=%(model)s for it.", model=better[-1]) if better else
              gettext("No Detoxify model covers it: rely on word lists, pre-moderation and reports."))
    return gettext("The toxicity model %(model)s was not trained on %(language)s, so its scores for these "
                   "comments are unreliable.", model=model, language=LANGUAGES[language]) + " " + advice


@bp.post("/sites/<slug>/api-token")
@staff_page
def issue_api_token(slug: str):
    site = _settings_site(slug)
    token = staff_service.issue_api_token(site)
    # Rendered, not flashed: the session cookie is signed but readable, so the token never goes there.
    return _render_settings(site, site.effective_settings(), {}, new_token=token)


@bp.get("/sites/<slug>/export")
@staff_page
def export_site(slug: str):
    """The whole site as JSON Lines (the same file as `flask discuss export`), streamed."""
    site = _settings_site(slug)
    audit_export(site, g.actor.user, g.actor.label)
    name = f"discuss-{site.slug}-{utcnow().strftime('%Y%m%d-%H%M%S')}.jsonl"
    return Response(stream_with_context(export_lines(site)), mimetype="application/x-ndjson",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


# -- webhooks (a panel of the settings page) ------------------------------------------------------

@bp.post("/sites/<slug>/webhooks")
@staff_page
def add_webhook(slug: str):
    site = _settings_site(slug)
    try:
        hook = webhook_service.add_webhook(site, request.form.get("url", ""), request.form.getlist("events"),
                                           request.form.get("format", "json"))
    except ApiError as err:
        flash(gettext("The webhook was not added; see the highlighted fields."), "error")
        return _render_settings(site, site.effective_settings(), {},
                                webhook_errors=err.localized_fields() or {"url": err.localized_message()}), 400
    # Rendered, not flashed: the secret must not travel in the (readable) session cookie.
    return _render_settings(site, site.effective_settings(), {}, new_webhook=hook)


@bp.post("/sites/<slug>/webhooks/<int:webhook_id>/<action>")
@staff_page
def webhook_action(slug: str, webhook_id: int, action: str):
    site = _settings_site(slug)
    if action not in ("delete", "test"):
        abort(404)
    try:
        if action == "delete":
            webhook_service.remove_webhook(site, webhook_id)
            flash(gettext("Webhook removed."), "ok")
        else:
            webhook_service.send_test(site, webhook_id)
            flash(gettext("Test event sent. Its attempts appear in the delivery log below."), "ok")
    except ApiError as err:
        flash(error_text(err), "error")
    return redirect(url_for("dashboard.site_settings", slug=slug) + "#webhooks")
