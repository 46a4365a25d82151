"""Account emails: the staff invitation and the password reset link (readers and staff).

Sent on the job runner, never inside the request; nothing is sent when MAIL_ENABLED is off.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext

from discuss.extensions import db
from discuss.identity.staff_admin import INVITE_MAX_AGE, RESET_MAX_AGE
from discuss.jobs import mail
from discuss.jobs.runner import Job, run_later
from discuss.models import User

# The role as the invite email names it, in the email's language.
ROLE_NAMES = {"moderator": lazy_gettext("moderator"), "admin": lazy_gettext("admin")}


def _later(job: Job, *args) -> str:
    # No mail without a configured public URL: links are never built from a request's Host header.
    if not current_app.config.get("MAIL_ENABLED", True) or mail.public_url() is None:
        return "off"
    return run_later(job, *args)


def invite_link(base_url: str, token: str) -> str:
    return f"{base_url}/auth/invite?token={token}"


def reset_link(base_url: str, token: str) -> str:
    return f"{base_url}/auth/reset?token={token}"


def send_invite_later(user: User, token: str, inviter: str) -> str:
    return _later(send_invite, user.id, token, inviter, mail.public_url())


def send_reset_later(user: User, token: str) -> str:
    return _later(send_reset, user.id, token, mail.public_url())


def send_invite(user_id: int, token: str, inviter: str, base_url: str) -> bool:
    user = db.session.get(User, user_id)
    if user is None or not user.email:
        return False
    mail.send(mail.Mail(to=user.email, subject=lazy_gettext("You are invited to moderate comments"), template="invite",
                        language=mail.mail_language(user),
                        context={"inviter": inviter, "link": invite_link(base_url, token),
                                 "days": INVITE_MAX_AGE // 86400, "role": ROLE_NAMES.get(user.role.value, user.role.value)}))
    return True


def send_reset(user_id: int, token: str, base_url: str) -> bool:
    user = db.session.get(User, user_id)
    if user is None or not user.email:
        return False
    mail.send(mail.Mail(to=user.email, subject=lazy_gettext("Reset your password"), template="reset",
                        language=mail.mail_language(user),
                        context={"name": user.display_name, "link": reset_link(base_url, token),
                                 "minutes": RESET_MAX_AGE // 60}))
    return True
