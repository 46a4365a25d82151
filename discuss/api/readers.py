"""Reader identity endpoints: accounts, publisher SSO, the signed-in reader (/me), email links.

Sign-in answers ``{"token", "token_type": "Bearer", "expires_at", "viewer"}``; the widget keeps
the token and sends ``Authorization: Bearer <token>`` (no third-party cookies involved).
"""
from __future__ import annotations

import json

from flask import Response, current_app, jsonify, render_template, request

from discuss.api import bp
from discuss.api.cors import check_origin
from discuss.api.helpers import bearer_token, json_body, verification_mail_allowed, viewer
from discuss.api.schemas import Field, check_email
from discuss.errors import ApiError, Forbidden
from discuss.extensions import limiter
from discuss.net import client_ip
from discuss.jobs import notifications
from discuss.comments import privacy
from discuss.identity import readers
from discuss.identity import registration
from discuss.identity import sso
from discuss.identity import staff_admin
from discuss.jobs.account_mail import (mail_possible, send_registration_attempt_later, send_registration_later,
                                       send_reset_later)
from discuss.models.queries import require_site
from discuss.models import iso

SITE = Field(str, max_len=64, nullable=True)
NEW_PASSWORD = Field(str, required=True, max_len=readers.MAX_PASSWORD_CHARS)
REGISTER_SCHEMA = {"email": Field(str, required=True, max_len=254, min_len=3),
                   "password": NEW_PASSWORD,
                   "display_name": Field(str, required=True, max_len=128, min_len=1), "site": SITE,
                   # The reader's language (the widget's): their emails come in it.
                   "language": Field(str, max_len=16, nullable=True)}
LOGIN_SCHEMA = {"email": Field(str, required=True, max_len=254, min_len=1),
                "password": Field(str, required=True, max_len=readers.MAX_PASSWORD_CHARS), "site": SITE}
SSO_SCHEMA = {"site": Field(str, required=True, max_len=64, min_len=1),
              "token": Field(str, required=True, max_len=sso.MAX_TOKEN_CHARS, min_len=1)}
PROFILE_SCHEMA = {"display_name": Field(str, max_len=128, nullable=True),
                  "notify_replies": Field(bool, nullable=True), "notify_digest": Field(bool, nullable=True)}
PASSWORD_SCHEMA = {"current_password": Field(str, required=True, max_len=readers.MAX_PASSWORD_CHARS),
                   "new_password": Field(str, required=True, max_len=readers.MAX_PASSWORD_CHARS)}
TOKEN_SCHEMA = {"token": Field(str, required=True, max_len=2048, min_len=1)}
FORGOT_SCHEMA = {"email": Field(str, required=True, max_len=254, min_len=3), "site": SITE,
                 "url": Field(str, max_len=2048, nullable=True)}
RESET_SCHEMA = {"token": Field(str, required=True, max_len=2048, min_len=1), "password": NEW_PASSWORD}


def _login_limit() -> str:
    return current_app.config["RATE_LIMIT_LOGIN"]


def _signed_in(result: readers.SignedIn, status: int = 200):
    return jsonify({"token": result.token, "token_type": "Bearer", "expires_at": iso(result.expires_at),
                    "viewer": readers.public_viewer(result.user)}), status


def _check_account_site(slug: str | None) -> None:
    """Calls from a publisher's page name their site: check the origin and that accounts are allowed."""
    if not slug:
        return
    site = require_site(slug)
    check_origin(site)
    if "account" not in (site.effective_settings().get("allowed_identities") or []):
        raise Forbidden("This site does not accept comment accounts.", "identity_not_allowed")


def _me():
    return readers.require_account(viewer())


# -- accounts ----------------------------------------------------------------------------------

@bp.post("/auth/register")
@limiter.limit(_login_limit, key_func=client_ip)
def register():
    """202 "check your email" for every address, so the answer never says which have an account."""
    data = json_body(REGISTER_SCHEMA)
    check_email(data["email"], "email")
    _check_account_site(data["site"])
    registration.check_input(data["email"], data["password"], data["display_name"], data.get("language"))
    if not mail_possible():
        # 403 like a site that takes no accounts: a setting of this service, not a failure of it.
        raise Forbidden("New accounts need email, which is not set up on this comment service. You can "
                        "still comment as a guest.", "registration_unavailable")
    if not verification_mail_allowed(data["email"]):
        raise ApiError("rate_limited", "Too many sign-up emails. Please wait before trying again.", 429)
    result = registration.register(data["email"], data["password"], data["display_name"], data.get("language"))
    if result.token is not None:
        send_registration_later(result.email, result.display_name, result.token, result.language)
    elif result.existing is not None:
        send_registration_attempt_later(result.existing)
    return jsonify({"status": "check_email",
                    "message": "Check your email: we sent a link to finish creating your account."}), 202


@bp.route("/auth/register/confirm", methods=["GET", "POST"])
def confirm_registration():
    token = request.args.get("token", "") if request.method == "GET" else json_body(TOKEN_SCHEMA)["token"]
    return _link_result(lambda: registration.confirm(token), "Your account is ready",
                        "Your comment account is ready. Go back to the comments and sign in with your "
                        "email address and password.",
                        lambda user: {"confirmed": True, "viewer": readers.public_viewer(user)})


@bp.post("/auth/login")
@limiter.limit(_login_limit, key_func=client_ip)
def login():
    data = json_body(LOGIN_SCHEMA)
    _check_account_site(data["site"])
    return _signed_in(readers.authenticate(data["email"], data["password"]))


@bp.post("/auth/password/forgot")
@limiter.limit(_login_limit, key_func=client_ip)
def forgot_password():
    """202 whether or not the address has an account, so the answer reveals nothing. From the
    widget (``site`` and the article's ``url``, on one of the site's origins) the link leads back to
    that article, where the widget's own reset screen finishes the job."""
    data = json_body(FORGOT_SCHEMA)
    check_email(data["email"], "email")  # the shape only: a well-formed unknown address still gets the 202
    _check_account_site(data["site"])
    article_url = data["url"] if data["site"] and data["url"] and require_site(data["site"]).allows_article_url(
        data["url"]) else None
    found = staff_admin.reset_candidate(data["email"])
    if found is not None:
        send_reset_later(*found, article_url=article_url)
    return jsonify({"sent": True, "message": "If an account uses that address, a reset link is on its way."}), 202


@bp.post("/auth/password/reset")
@limiter.limit(_login_limit, key_func=client_ip)
def reset_password():
    data = json_body(RESET_SCHEMA)
    staff_admin.reset_password(data["token"], data["password"])
    return jsonify({"reset": True, "signed_out_everywhere": True})


@bp.post("/auth/logout")
def logout():
    return jsonify({"signed_out": readers.end_session(bearer_token())})


@bp.post("/auth/sso")
@limiter.limit(_login_limit, key_func=client_ip)
def sso_sign_in():
    data = json_body(SSO_SCHEMA)
    check_origin(require_site(data["site"]))
    result, _site = sso.sign_in(data["site"], data["token"])
    return _signed_in(result)


@bp.post("/auth/verify/resend")
@limiter.limit(_login_limit, key_func=client_ip)
def resend_verification():
    user = _me()
    if not user.email_verified and not verification_mail_allowed(user.email or ""):
        raise ApiError("rate_limited", "Too many verification emails. Please wait before asking again.", 429)
    return jsonify({"sent": notifications.request_verification(user)}), 202


@bp.route("/auth/verify", methods=["GET", "POST"])
def verify_email():
    token = request.args.get("token", "") if request.method == "GET" else json_body(TOKEN_SCHEMA)["token"]
    return _link_result(lambda: readers.verify_email(token), "Email address confirmed",
                        "Thanks, your email address is confirmed. You can close this page.",
                        lambda user: {"verified": True, "viewer": readers.public_viewer(user)})


@bp.route("/unsubscribe", methods=["GET", "POST"])
def unsubscribe():
    # POST is RFC 8058 one-click (mail clients); GET is the link in the message body.
    token = request.args.get("token", "")
    return _link_result(lambda: notifications.unsubscribe(token), "Unsubscribed",
                        "You will not get these emails any more.",
                        lambda result: {"unsubscribed": result[1]})


def _link_result(action, title: str, message: str, as_json):
    """Links opened from an email: a small page for browsers, JSON for the widget."""
    html = request.method == "GET" and "text/html" in request.headers.get("Accept", "")
    try:
        outcome = action()
    except ApiError as err:
        if not html:
            raise
        return render_template("email/link_result.html", title="This link did not work",
                               message=err.message), err.status
    if html:
        return render_template("email/link_result.html", title=title, message=message)
    return jsonify(as_json(outcome))


# -- the signed-in reader ----------------------------------------------------------------------

@bp.get("/me")
def me():
    return jsonify({"viewer": readers.public_viewer(_me())})


@bp.patch("/me")
def update_me():
    data = json_body(PROFILE_SCHEMA)
    user = readers.update_profile(_me(), display_name=data["display_name"], notify_replies=data["notify_replies"],
                                  notify_digest=data["notify_digest"])
    return jsonify({"viewer": readers.public_viewer(user)})


@bp.post("/me/password")
@limiter.limit(_login_limit, key_func=client_ip)
def change_password():
    data = json_body(PASSWORD_SCHEMA)
    readers.change_password(_me(), data["current_password"], data["new_password"], keep_token=bearer_token())
    return jsonify({"changed": True, "other_sessions_signed_out": True})


@bp.get("/me/export")
def export_me():
    body = json.dumps(privacy.export_data(_me()), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="my-comments.json"',
                             "Cache-Control": "no-store"})


@bp.delete("/me")
def delete_me():
    return jsonify(privacy.delete_account(_me()))
