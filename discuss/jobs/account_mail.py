"""Account emails: the staff invitation, the password reset link (readers and staff), and the two
answers to a registration (the confirmation link for a new address; "someone tried to register"
to the owner of an address that has an account).

Sent on the job runner, never inside the request; nothing is sent when MAIL_ENABLED is off.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext

from discuss.extensions import db
from discuss.identity.staff_admin import INVITE_MAX_AGE, RESET_MAX_AGE, RESET_SALT, link_token
from discuss.jobs import mail
from discuss.jobs.runner import Job, run_later
from discuss.models import User

# The role as the invite email names it, in the email's language.
ROLE_NAMES = {"moderator": lazy_gettext("moderator"), "admin": lazy_gettext("admin")}


def mail_possible() -> bool:
    # No mail without a configured public URL: links are never built from a request's Host header.
    return bool(current_app.config.get("MAIL_ENABLED", True)) and mail.public_url() is not None


def _later(job: Job, *args) -> str:
    if not mail_possible():
        return "off"
    return run_later(job, *args)


def invite_link(base_url: str, token: str) -> str:
    return f"{base_url}/auth/invite?token={token}"


def reset_link(base_url: str, token: str, article_url: str | None = None) -> str:
    """The server's reset page; or, for a reader who asked from the widget, the article they were
    reading, where the widget opens its own reset screen (embed.js takes the token out of the
    address bar at once and hands it to the widget)."""
    if article_url:
        return f"{article_url.split('#')[0]}#discuss-reset={token}"
    return f"{base_url}/auth/reset?token={token}"


def confirm_link(base_url: str, token: str) -> str:
    return f"{base_url}/api/v1/auth/register/confirm?token={token}"


def send_invite_later(user: User, token: str, inviter: str) -> str:
    return _later(send_invite, user.id, token, inviter, mail.public_url())


def send_reset_later(user: User, token: str, article_url: str | None = None) -> str:
    return _later(send_reset, user.id, token, mail.public_url(), article_url)


def send_registration_later(email: str, name: str, token: str, language: str | None = None) -> str:
    return _later(send_registration, email, name, token, mail.public_url(), language)


def send_registration_attempt_later(user: User) -> str:
    return _later(send_registration_attempt, user.id, mail.public_url())


def send_invite(user_id: int, token: str, inviter: str, base_url: str) -> bool:
    user = db.session.get(User, user_id)
    if user is None or not user.email:
        return False
    mail.send(mail.Mail(to=user.email, subject=lazy_gettext("You are invited to moderate comments"), template="invite",
                        language=mail.mail_language(user),
                        context={"inviter": inviter, "link": invite_link(base_url, token),
                                 "days": INVITE_MAX_AGE // 86400, "role": ROLE_NAMES.get(user.role.value, user.role.value)}))
    return True


def send_reset(user_id: int, token: str, base_url: str, article_url: str | None = None) -> bool:
    user = db.session.get(User, user_id)
    if user is None or not user.email:
        return False
    mail.send(mail.Mail(to=user.email, subject=lazy_gettext("Reset your password"), template="reset",
                        language=mail.mail_language(user),
                        context={"name": user.display_name, "link": reset_link(base_url, token, article_url),
                                 "minutes": RESET_MAX_AGE // 60}))
    return True


def send_registration(email: str, name: str, token: str, base_url: str, language: str | None = None) -> bool:
    hours = int(current_app.config["EMAIL_VERIFY_MAX_AGE_HOURS"])
    mail.send(mail.Mail(to=email, subject=lazy_gettext("Finish creating your comment account"), template="register",
                        language=language,
                        context={"name": name, "link": confirm_link(base_url, token), "hours": hours}))
    return True


def send_registration_attempt(user_id: int, base_url: str) -> bool:
    """Someone registered with an address that has an account: its owner hears of it, with a way
    back in if it was them, and the one who tried learns nothing."""
    user = db.session.get(User, user_id)
    if user is None or not user.email or not user.is_active_account:
        return False
    mail.send(mail.Mail(to=user.email, subject=lazy_gettext("Someone tried to register with your email address"),
                        template="register_existing", language=mail.mail_language(user),
                        context={"name": user.display_name, "minutes": RESET_MAX_AGE // 60,
                                 "reset_link": reset_link(base_url, link_token(user, RESET_SALT))}))
    return True
