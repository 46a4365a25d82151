"""Security defaults: the signing key, and the headers on every response the service serves."""
from __future__ import annotations

import json
import math
import os
import re
import secrets
import tempfile
from typing import Any

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

# The API and dashboard never need to be framed or to run inline code. The embed
# blueprint sets its own frame-ancestors (the site's allowed origins) via g.csp_frame_ancestors.
BASE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'")
HSTS = "max-age=31536000; includeSubDomains"
MIN_SECRET_KEY_CHARS = 16


class InsecureSecretKey(RuntimeError):
    """Raised at start when the configured key is one anyone can read (or too short to be a key)."""


def load_or_create_secret_key(path: str) -> str:
    """The key stored at ``path``, generated there (mode 0600) the first time.

    Several workers may start at once: each writes a candidate to a private temporary file and
    hard-links it into place, which fails if another got there first; everyone then reads the
    one file, so all processes sign with the same key.
    """
    if not os.path.exists(path):
        folder = os.path.dirname(path) or "."
        os.makedirs(folder, exist_ok=True)
        fd, candidate = tempfile.mkstemp(dir=folder, prefix=".secret_key.")  # mkstemp: mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            try:
                os.link(candidate, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(candidate)
    if os.stat(path).st_mode & 0o077:
        os.chmod(path, 0o600)  # readable by the owner only, whoever created it
    with open(path, encoding="utf-8") as handle:
        key = handle.read().strip()
    if len(key) < MIN_SECRET_KEY_CHARS:
        raise InsecureSecretKey(f"{path} does not hold a usable secret key; delete it to get a new one")
    return key


def resolve_secret_key(app: Flask, known_insecure: frozenset[str]) -> None:
    """Use DISCUSS_SECRET_KEY if set (refusing published values), else the instance folder's key."""
    key = app.config.get("SECRET_KEY")
    if key in known_insecure:
        raise InsecureSecretKey(
            "DISCUSS_SECRET_KEY is the published development value: anyone could forge sessions and "
            "tokens. Unset it (a random key is then kept in the instance folder) or set a random one.")
    if not key:
        path = app.config.get("SECRET_KEY_FILE") or os.path.join(app.instance_path, "secret_key")
        app.config["SECRET_KEY"] = load_or_create_secret_key(path)


def public_url_is_https(app: Flask) -> bool:
    return str(app.config.get("PUBLIC_URL") or "").lower().startswith("https://")


def install_security_headers(app: Flask) -> None:
    hsts = public_url_is_https(app)
    app.session_interface = CookieFreeSessionInterface()

    @app.after_request
    def _headers(response):
        ancestors = g.pop("csp_frame_ancestors", None) or "'none'"
        response.headers.setdefault("Content-Security-Policy", f"{BASE_CSP}; frame-ancestors {ancestors}")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return keep_personal_answers_private(response)


PRIVATE = "private, no-store"


def keep_personal_answers_private(response):
    """An answer to a request with credentials (a bearer token or the session cookie), or one that
    sets the session cookie, may carry that caller's data: no shared cache may keep it and no
    browser may store it, whatever the view set. Views mark public reads public
    (discuss/api/caching.py); this is the one guard."""
    token = "Authorization" in request.headers
    cookie = current_app.config["SESSION_COOKIE_NAME"] in request.cookies
    if token or cookie or session.modified:
        response.headers["Cache-Control"] = PRIVATE
        response.vary.update(("Authorization", "Cookie") if token else ("Cookie",))
    return response


class CookieFreeSessionInterface(SecureCookieSessionInterface):
    """Flask adds ``Vary: Cookie`` to every answer whose session was looked at, and Flask-Login
    looks at it on every request. An anonymous answer to a request with no session cookie, that
    sets none, does not depend on cookies: without the Vary, caches and CDNs keep one copy for
    every reader rather than one per reader's cookies (or none at all)."""

    def save_session(self, app, session, response) -> None:
        if not session and not session.modified and self.get_cookie_name(app) not in request.cookies:
            return
        super().save_session(app, session, response)


# -- input guards: malformed input is a 4xx, never a 500 -------------------------------------------

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_PAGE_NUMBER = 1_000_000  # page * per_page stays a valid OFFSET on every database
# Row ids (and counters such as likes) are INTEGER columns: 32-bit on PostgreSQL. A bigger number
# can name no row, and PostgreSQL refuses to even compare with it, so it is refused up front.
ID_MAX = 2**31 - 1
_SURROGATES = re.compile("[\ud800-\udfff]")


def _bad_json(message: str) -> ValueError:
    return json.JSONDecodeError(message, "", 0)


def _walk_json(value: Any, max_depth: int) -> None:
    """Depth, integer range, lone surrogates and NUL: what the database or the rest of the code
    cannot take. Iterative, so the check itself cannot overflow the stack."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > max_depth:
                raise _bad_json(f"nested deeper than {max_depth} levels")
            children = item.items() if isinstance(item, dict) else ((None, v) for v in item)
            for key, child in children:
                if key is not None:
                    _check_string(key)
                stack.append((child, depth + 1))
        elif isinstance(item, str):
            _check_string(item)
        elif isinstance(item, int) and not isinstance(item, bool) and not INT64_MIN <= item <= INT64_MAX:
            raise _bad_json("integer out of range (64-bit)")
        elif isinstance(item, float) and not math.isfinite(item):
            raise _bad_json("number out of range")


def storable_text(text: str) -> bool:
    """False for text no database column takes: NUL (PostgreSQL) or lone surrogates (not UTF-8)."""
    return "\x00" not in text and not _SURROGATES.search(text)


def _check_string(text: str) -> None:
    if "\x00" in text:
        raise _bad_json("NUL characters are not allowed")
    if _SURROGATES.search(text):
        raise _bad_json("lone surrogates are not allowed (send valid UTF-16 pairs)")


def _refuse_constant(name: str) -> Any:
    raise _bad_json(f"{name} is not valid JSON")


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, refusing what standard JSON parsing lets through but nothing here can
    store: deep nesting (also no RecursionError), integers beyond 64 bits, NaN/Infinity, lone
    surrogates and NUL. Every refusal is a ValueError, so ``get_json`` answers 400."""

    max_depth = 32

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("parse_constant", _refuse_constant)
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise _bad_json(f"nested deeper than {self.max_depth} levels") from None
        _walk_json(value, self.max_depth)
        return value


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` that matches ids a row can have: a bigger number is a 404, not a database error."""

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)


def install_input_guards(app: Flask) -> None:
    """Before any blueprint registers: bounded path ids, strict JSON. Before any view runs: the
    declared body size (refused before the body is read) and NUL in the URL or query."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.json_provider_class = StrictJSONProvider
    app.json = StrictJSONProvider(app)
    app.json.max_depth = int(app.config.get("MAX_JSON_DEPTH") or StrictJSONProvider.max_depth)

    @app.before_request
    def _refuse_bad_envelope():
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and (request.content_length or 0) > limit:
            raise RequestEntityTooLarge()
        if "\x00" in request.path or any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
            raise BadRequest("NUL characters are not allowed in the URL.")


def parse_int_arg(raw: str | None, low: int = 0, high: int = INT64_MAX) -> int | None:
    """A query-string integer: ASCII digits only ("²" and "١" are digits to str.isdigit but not
    numbers we accept), within [low, high]. None when absent; ValueError when not valid."""
    if raw in (None, ""):
        return None
    text = raw.strip()
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        raise ValueError(f"a whole number from {low} to {high}")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"a whole number from {low} to {high}")
    return value
