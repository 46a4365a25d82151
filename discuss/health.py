"""Liveness and readiness, including the scorer state, without failing on a slow model."""
from flask import Blueprint, jsonify
from sqlalchemy import text

from discuss.extensions import db
from discuss.jobs.mail import mail_status
from discuss.scoring.runtime import get_scoring

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # report, don't raise: health must answer
        database = f"error: {type(exc).__name__}"
    scorer = get_scoring().status()
    mail = mail_status()
    # The service is up as long as the database answers; a loading or failed scorer only
    # means new comments wait in the moderation queue.
    status = 200 if database == "ok" else 503
    return jsonify({"status": "ok" if status == 200 else "degraded", "database": database,
                    "scorer": scorer, "mail": mail}), status
