"""Outgoing email: render templates/email/*, send over SMTP, and run sends outside the request.

Delivery (config MAIL_DELIVERY): "auto" puts the job on the RQ queue the scoring workers
already consume when SCORING=queue and REDIS_URL are set, and otherwise uses a background
thread; "queue", "thread" and "inline" force one path. Jobs are import paths plus plain
arguments, so the same call works on a worker and in a thread.
"""
from __future__ import annotations

import importlib
import smtplib
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import Flask, current_app, has_request_context, render_template, request


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


# -- running jobs outside the request ----------------------------------------------------------

def _mode() -> str:
    config = current_app.config
    mode = config.get("MAIL_DELIVERY", "auto")
    if mode == "auto":
        return "queue" if config.get("REDIS_URL") and config.get("SCORING") == "queue" else "thread"
    return mode


def dispatch(job_path: str, *args) -> str:
    """Run ``job_path(*args)`` after the response: on RQ, in a thread, or inline. Returns the mode used."""
    if not current_app.config.get("MAIL_ENABLED", True):
        return "off"
    mode = _mode()
    if mode == "queue" and _enqueue(job_path, args):
        return "queue"
    if mode == "inline":
        run_job(job_path, *args)
        return "inline"
    app = current_app._get_current_object()
    worker = threading.Thread(target=_run_in_app, args=(app, job_path, args), daemon=True,
                              name=f"discuss-mail:{job_path.rpartition('.')[2]}")
    worker.start()
    return "thread"


def _enqueue(job_path: str, args: tuple) -> bool:
    from rq import Retry

    from discuss.services.scoring_queue import _queue

    try:
        _queue().enqueue("discuss.mail.run_job", job_path, *args, job_timeout=120,
                         retry=Retry(max=3, interval=[10, 60, 300]), failure_ttl=7 * 86400)
        return True
    except Exception as exc:  # Redis down: a thread still gets the mail out
        current_app.logger.error("could not enqueue %s: %s; sending from a thread", job_path, exc)
        return False


def run_job(job_path: str, *args) -> None:
    """Entry point on a worker (inside its app context) and in threads."""
    module_name, _, func_name = job_path.rpartition(".")
    getattr(importlib.import_module(module_name), func_name)(*args)


def _run_in_app(app: Flask, job_path: str, args: tuple) -> None:
    from discuss.extensions import db

    with app.app_context():
        try:
            run_job(job_path, *args)
        except Exception:
            app.logger.exception("mail job %s%r failed", job_path, args)
        finally:
            db.session.remove()
