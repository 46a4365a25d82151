"""Staff sign-in and sign-out (/auth). Readers authenticate through the public API instead."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user, login_user, logout_user

from discuss.errors import ApiError
from discuss.extensions import limiter, login_manager
from discuss.identity import staff as staff_service
from discuss.identity import staff_admin
from discuss.jobs.account_mail import send_reset_later

bp = Blueprint("auth", __name__, url_prefix="/auth")


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    # Flask-Login flashes this through localize_callback, in the visitor's language; the lazy string
    # marks it for extraction and is turned into plain text before it reaches the session.
    login_manager.login_message = lazy_gettext("Sign in to moderate.")
    login_manager.localize_callback = str
    login_manager.login_message_category = "info"


def safe_next(target: str | None) -> str:
    """Only same-site paths: never bounce a moderator to another host after sign-in."""
    parts = urlsplit(target or "")
    if target and not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("dashboard.index")


def _login_limit() -> str:
    return current_app.config.get("RATE_LIMIT_LOGIN", "10/minute")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated and getattr(current_user, "is_staff", False):
        return redirect(safe_next(request.args.get("next")))
    error = None
    if request.method == "POST":
        user = staff_service.authenticate(request.form.get("email", ""), request.form.get("password", ""))
        if user is not None:
            # A fresh session: the CSRF secret (and anything else kept before sign-in) is renewed.
            session.clear()
            g.pop("csrf_token", None)  # Flask-WTF's per-request copy of the old one
            login_user(user, remember=False)
            return redirect(safe_next(request.form.get("next")))
        error = gettext("That email and password do not match a staff account.")
    return render_template("auth/login.html", error=error, next=request.values.get("next", ""),
                           email=request.form.get("email", "")), (401 if error else 200)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        staff_service.sign_out(current_user._get_current_object())
    logout_user()
    session.clear()
    g.pop("csrf_token", None)
    flash(gettext("Signed out."), "info")
    return redirect(url_for("auth.login"))


# -- invitation and password reset (one-time links from email) --------------------------------------

@bp.route("/invite", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def accept_invite():
    token = request.values.get("token", "")
    try:
        invited = staff_admin.invited_user(token)
    except ApiError as err:
        return render_template("auth/link_problem.html", message=err.localized_message()), 400
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            user = staff_admin.accept_invite(token, request.form.get("display_name", ""),
                                             request.form.get("password", ""))
        except ApiError as err:
            errors = err.localized_fields() or {"form": err.localized_message()}
        else:
            logout_user()
            login_user(user, remember=False)
            flash(gettext("Welcome, %(name)s. You are signed in.", name=user.display_name), "ok")
            return redirect(url_for("dashboard.index"))
    return render_template("auth/invite.html", token=token, invited=invited, errors=errors,
                           name=request.form.get("display_name", invited.display_name)), (400 if errors else 200)


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password():
    sent = False
    if request.method == "POST":
        found = staff_admin.reset_candidate(request.form.get("email", ""))
        if found is not None:
            send_reset_later(*found)
        sent = True  # the same answer either way: no one learns which emails have accounts
    return render_template("auth/forgot.html", sent=sent)


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def reset_password():
    token = request.values.get("token", "")
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            user = staff_admin.reset_password(token, request.form.get("password", ""))
        except ApiError as err:
            errors = err.localized_fields() or {"form": err.localized_message()}
        else:
            logout_user()
            return render_template("auth/reset.html", done=True, staff=user.is_staff, token="", errors={})
    return render_template("auth/reset.html", done=False, token=token, errors=errors), (400 if errors else 200)
