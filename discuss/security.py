"""Security headers for every response the service serves."""
from flask import Flask, g

# The API and dashboard never need to be framed or to run inline code. The embed
# blueprint sets its own frame-ancestors (the site's allowed origins) via g.csp_frame_ancestors.
BASE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'")


def install_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        ancestors = g.pop("csp_frame_ancestors", None) or "'none'"
        response.headers.setdefault("Content-Security-Policy", f"{BASE_CSP}; frame-ancestors {ancestors}")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        return response
