"""One JSON error shape for every API failure: {"error": {"code", "message", "fields"?}}."""
from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from discuss.locales import N_, localize


class ApiError(Exception):
    """Raised by services and views; rendered as a 4xx JSON error. Nothing is written.

    ``message`` and the ``fields`` values are English; written as ``N_(...)`` (a locales.Text)
    they also carry their msgid, so the dashboard shows them in the staff member's language
    (``locales.localize``) while the JSON API keeps the English (clients match on ``code``)."""

    status = 400

    def __init__(self, code: str, message: str, status: int | None = None,
                 fields: dict[str, str] | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status
        self.fields = fields
        self.extra = extra or {}

    def localized_message(self) -> str:
        """The message in the current Flask-Babel locale (pages; the JSON API keeps ``message``)."""
        return localize(self.message)

    def localized_fields(self) -> dict[str, str]:
        return {name: localize(text) for name, text in (self.fields or {}).items()}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.extra)
        return {"error": body}


class ValidationFailed(ApiError):
    def __init__(self, fields: dict[str, str], message: str = N_("Some fields are not valid.")):
        super().__init__("validation_failed", message, 400, fields=fields)


class NotFound(ApiError):
    def __init__(self, what: str = N_("resource")):
        super().__init__("not_found", N_("That %(what)s does not exist.", what=what), 404)


class Forbidden(ApiError):
    def __init__(self, message: str = N_("You may not do that."), code: str = "forbidden"):
        super().__init__(code, message, 403)


def error_response(code: str, message: str, status: int, **extra: Any):
    body: dict[str, Any] = {"code": code, "message": message}
    body.update(extra)
    return jsonify({"error": body}), status


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register_error_handlers(app: Flask) -> None:
    from discuss.extensions import db

    @app.errorhandler(ApiError)
    def handle_api_error(err: ApiError):
        db.session.rollback()
        return jsonify(err.to_dict()), err.status

    from sqlalchemy.exc import SQLAlchemyError

    @app.errorhandler(SQLAlchemyError)
    def handle_database_error(err: SQLAlchemyError):
        """The database is away or refuses writes: a 503 that says so, never a 500. The
        transaction is rolled back, so nothing is half-written; the client may try again."""
        from discuss.storage import WRITE_HEALTH, database_failure_reason

        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection is gone; the pool replaces it
            db.session.remove()
        reason = database_failure_reason(err)
        if reason is None:
            raise err  # a bug, not an outage: a 500 with the traceback in the log
        WRITE_HEALTH.failed(reason)
        app.logger.error("database %s: %s", reason, err)
        message = ("The database is not accepting writes right now" if reason == "refusing_writes"
                   else "The database is not available right now")
        if not wants_json():
            return f"{message}. Nothing was saved; please try again in a minute.", 503, {
                "Retry-After": "30", "Content-Type": "text/plain; charset=utf-8"}
        response, status = error_response("database_unavailable", f"{message}. Nothing was saved; please "
                                          "try again in a minute.", 503, reason=reason)
        response.headers["Retry-After"] = "30"
        return response, status

    @app.errorhandler(429)
    def handle_rate_limited(err):
        if wants_json():
            return error_response("rate_limited", "Too many requests. Please wait a moment and try again.",
                                  429, limit=str(getattr(err, "description", "")))
        return err

    @app.errorhandler(413)
    def handle_too_large(err):
        if not wants_json():
            return err
        limit = app.config.get("MAX_CONTENT_LENGTH")
        return error_response("payload_too_large", f"The request body is larger than {limit:,} bytes.", 413,
                              limit_bytes=limit)

    @app.errorhandler(HTTPException)
    def handle_http_error(err: HTTPException):
        if not wants_json():
            return err
        code = (err.name or "error").lower().replace(" ", "_")
        response, status = error_response(code, err.description or err.name, err.code or 500)
        for name, value in err.get_headers():
            if name.lower() == "allow":  # 405 names the methods that are allowed
                response.headers[name] = value
        return response, status
