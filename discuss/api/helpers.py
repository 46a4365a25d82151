"""Request parsing shared by the API views (the only API code that reads flask.request)."""
from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, current_app, request
from limits import parse_many

from discuss.api import schemas
from discuss.errors import ApiError
from discuss.extensions import limiter
from discuss.identity.tokens import bearer_from_header, hash_ip, user_from_bearer
from discuss.models import User
from discuss.net import client_ip


def json_body(schema: dict[str, schemas.Field]) -> dict[str, Any]:
    if not request.is_json:
        raise ApiError("unsupported_media_type", "Send the request body as application/json.", 415)
    payload = request.get_json(silent=True)
    if payload is None:
        raise ApiError("invalid_json", "The request body is not valid JSON.", 400)
    return schemas.parse(payload, schema)


def bearer_token() -> str | None:
    return bearer_from_header(request.headers.get("Authorization"))


def viewer(required_if_sent: bool = True) -> User | None:
    """The reader behind the Bearer token. A token that is sent but invalid is an error on writes."""
    token = bearer_token()
    if "discuss.viewer" not in request.environ:  # per request, not per app context
        request.environ["discuss.viewer"] = user_from_bearer(token)
    user = request.environ["discuss.viewer"]
    if token and user is None and required_if_sent:
        raise ApiError("invalid_token", "Your sign-in has expired or is not valid. Please sign in again.", 401)
    return user


def within_limits(name: str, key: str, *limit_configs: str) -> bool:
    """Count one hit against each configured limit (Flask-Limiter syntax, e.g. "3/hour;10/day") for
    ``key``, in the same shared store as the route limits; False when any is used up."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    allowed = True
    for config_key in limit_configs:
        for item in parse_many(current_app.config[config_key]):
            allowed = limiter.limiter.hit(item, name, config_key, key) and allowed
    return allowed


def verification_mail_allowed(email: str) -> bool:
    """Verification emails are limited per address and per IP: nobody can make the service mail
    one address over and over, or mail many addresses from one place."""
    address = hashlib.sha256((email or "").strip().lower().encode()).hexdigest()
    per_address = within_limits("verify-mail", address, "RATE_LIMIT_VERIFY_PER_ADDRESS")
    per_ip = within_limits("verify-mail", client_ip(), "RATE_LIMIT_VERIFY_PER_IP")
    return per_address and per_ip


def request_ip_hash() -> str | None:
    return hash_ip(client_ip())


def raw_json(body: bytes, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="application/json")


def config(key: str) -> Any:
    return current_app.config[key]
