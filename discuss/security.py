"""Security defaults: the signing key, and the headers on every response the service serves."""
from __future__ import annotations

import os
import secrets
import tempfile

from flask import Flask, g

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

    @app.after_request
    def _headers(response):
        ancestors = g.pop("csp_frame_ancestors", None) or "'none'"
        response.headers.setdefault("Content-Security-Policy", f"{BASE_CSP}; frame-ancestors {ancestors}")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
