"""Staff management for admins (/mod/staff): invite by one-time link, roles per site, deactivate."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from discuss.dashboard import bp
from discuss.dashboard.access import staff_page
from discuss.dashboard.views import action_failed, page_context
from discuss.errors import ApiError
from discuss.identity import staff_admin
from discuss.identity.staff_audit import recent_staff_events
from discuss.jobs import mail
from discuss.jobs.account_mail import invite_link, send_invite_later
from discuss.moderation.sites import all_sites


def _admin_only() -> None:
    if not g.actor.is_admin:
        abort(403)


def _site_ids() -> list[int]:
    return [int(v) for v in request.form.getlist("sites") if v.isdigit()]


def _render(invite: dict | None = None, errors: dict | None = None, status: int = 200):
    return render_template("dashboard/staff.html", staff=staff_admin.list_staff(), all_sites=all_sites(),
                           staff_events=recent_staff_events(), invite=invite, errors=errors or {}, form=request.form, **page_context()), status


@bp.get("/staff")
@staff_page
def staff_list():
    _admin_only()
    return _render()


@bp.post("/staff/invite")
@staff_page
def staff_invite():
    _admin_only()
    try:
        user, token = staff_admin.invite_staff(g.actor, request.form.get("email", ""), request.form.get("role", ""),
                                               _site_ids())
    except ApiError as err:
        return _render(errors=err.localized_fields() or {"form": err.localized_message()}, status=400)
    sent = send_invite_later(user, token, g.actor.user.display_name)
    # Shown once, like an API token, so an admin without working mail can pass it on.
    return _render(invite={"email": user.email, "link": invite_link(mail.public_url() or "", token), "mailed": sent != "off"})


@bp.post("/staff/<int:user_id>/roles")
@staff_page
def staff_roles(user_id: int):
    _admin_only()
    try:
        user = staff_admin.set_roles(g.actor, user_id, request.form.get("role", ""), _site_ids())
    except ApiError as err:
        return action_failed(err, url_for("dashboard.staff_list"))
    flash(gettext("%(name)s: %(role)s.", name=user.display_name, role=gettext(user.role.value)), "ok")
    return redirect(url_for("dashboard.staff_list"))


@bp.post("/staff/<int:user_id>/<any(deactivate, reactivate):action>")
@staff_page
def staff_active(user_id: int, action: str):
    _admin_only()
    try:
        user = staff_admin.set_active(g.actor, user_id, action == "reactivate")
    except ApiError as err:
        return action_failed(err, url_for("dashboard.staff_list"))
    flash(gettext("%(name)s reactivated.", name=user.display_name) if user.is_active_account
          else gettext("%(name)s deactivated and signed out everywhere.", name=user.display_name), "ok")
    return redirect(url_for("dashboard.staff_list"))
