"""Outgoing email: render templates/email/*, and send over SMTP. Nothing else.

Sends run outside the request on the job runner (discuss.jobs.runner); see notifications.
"""
from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, has_request_context, render_template, request


@dataclass
class Mail:
    to: str
    subject: str
    template: str  # templates/email/<template>.txt and .html
    context: dict = field(default_factory=dict)
    unsubscribe_url: str | None = None


def public_url() -> str:
    """Base URL for links in emails: PUBLIC_URL, else the current request's host."""
    configured = current_app.config.get("PUBLIC_URL")
    if configured:
        return configured.rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return "http://localhost"


def build_message(mail: Mail) -> EmailMessage:
    config = current_app.config
    context = {**mail.context, "unsubscribe_url": mail.unsubscribe_url}
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = mail.to
    message["Subject"] = mail.subject
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
