"""Outgoing email: render templates/email/*, and send over SMTP. Nothing else.

Sends run outside the request on the job runner (discuss.jobs.runner); see notifications.
"""
from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, render_template
from flask_babel import force_locale

from discuss.locales import DEFAULT_LANGUAGE, LANGUAGES, direction


@dataclass
class Mail:
    to: str
    subject: str  # usually a lazy_gettext string: translated when the message is built
    template: str  # templates/email/<template>.txt and .html
    context: dict = field(default_factory=dict)
    unsubscribe_url: str | None = None
    language: str | None = None  # a code from discuss.locales.LANGUAGES; None: English


def mail_language(user, site=None) -> str:
    """An email goes out in the recipient's language, else the site's (when it set one), else English."""
    if user is not None and getattr(user, "language", None) in LANGUAGES:
        return user.language
    site_language = site.effective_settings().get("language") if site is not None else None
    return site_language if site_language in LANGUAGES else DEFAULT_LANGUAGE


NO_PUBLIC_URL = ("DISCUSS_PUBLIC_URL is not set: no email is sent, because links in emails (sign-in, "
                 "unsubscribe) are only built from configuration, never from a request's Host header.")


MAIL_OFF = ("DISCUSS_MAIL_ENABLED is off: no email is sent (reply notifications, account confirmation, "
            "password reset and staff invitations).")


def public_url() -> str | None:
    """Base URL for links in emails: DISCUSS_PUBLIC_URL, or None. Never the request's Host header,
    which the sender of the request chooses (the links carry tokens)."""
    configured = (current_app.config.get("PUBLIC_URL") or "").strip()
    return configured.rstrip("/") or None


def mail_status() -> dict:
    """For /healthz and start-up logs: whether email can go out, and if not, why."""
    if not current_app.config.get("MAIL_ENABLED", True):
        return {"state": "off", "reason": MAIL_OFF}
    if public_url() is None:
        return {"state": "disabled", "reason": NO_PUBLIC_URL}
    return {"state": "ok", "public_url": public_url()}


def build_message(mail: Mail) -> EmailMessage:
    language = mail.language if mail.language in LANGUAGES else DEFAULT_LANGUAGE
    with force_locale(language):
        return _build_message(mail, language)


def _build_message(mail: Mail, language: str) -> EmailMessage:
    config = current_app.config
    context = {**mail.context, "unsubscribe_url": mail.unsubscribe_url, "lang": language, "dir": direction(language)}
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = mail.to
    message["Subject"] = str(mail.subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=config["MAIL_FROM"].rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    if mail.unsubscribe_url:
        # RFC 2369 + RFC 8058: mail clients show an unsubscribe button that POSTs to this URL.
        message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(render_template(f"email/{mail.template}.txt", **context))
    message.add_alternative(render_template(f"email/{mail.template}.html", **context), subtype="html")
    return message


def send(mail: Mail) -> None:
    """Send now, over SMTP (needs an app context). Raises on SMTP failure."""
    config = current_app.config
    message = build_message(mail)
    with smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]),
                      timeout=int(config["SMTP_TIMEOUT_SECONDS"])) as smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(message)
