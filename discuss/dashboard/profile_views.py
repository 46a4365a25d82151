"""A staff member's own profile (/mod/profile): the language of the dashboard and of their emails."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from discuss.dashboard import bp
from discuss.dashboard.access import staff_page
from discuss.dashboard.views import page_context
from discuss.errors import ValidationFailed
from discuss.identity.staff import set_language
from discuss.locales import DASHBOARD_LANGUAGES, LANGUAGES


def N_(message: str) -> str:
    """Marks a message for extraction whose text is chosen elsewhere (queue titles, roles)."""
    return message


# Queue titles, shown through _() in templates; listed here so pybabel extracts them.
QUEUE_TITLE_MESSAGES = (N_("Pending"), N_("Reported"), N_("Rejected"), N_("Approved"), N_("All"))
# A comment's status and an author's kind, shown through _() on the comment item.
STATUS_AND_KIND_MESSAGES = (N_("published"), N_("pending"), N_("rejected"), N_("deleted"),
                            N_("guest"), N_("account"), N_("sso"))


@bp.route("/profile", methods=["GET", "POST"])
@staff_page
def profile():
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            set_language(g.actor.user, request.form.get("language"))
        except ValidationFailed as err:
            errors = err.localized_fields()
        else:
            flash(gettext("Your language is saved."), "ok")
            return redirect(url_for("dashboard.profile"))
    return render_template("dashboard/profile.html", languages=LANGUAGES, dashboard_languages=DASHBOARD_LANGUAGES,
                           errors=errors, **page_context()), 400 if errors else 200
