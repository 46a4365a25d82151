"""The demo: a sample newspaper article with the embed snippet, as a publisher's page would be.

``render_demo_page`` needs no Flask app, so a test (or a publisher trying things out) can serve
the page from another origin than the comment service, the way a real embed runs.
"""
from __future__ import annotations

import os

from jinja2 import Environment, FileSystemLoader, select_autoescape

from discuss.extensions import db
from discuss.locales import best_match
from discuss.models.queries import site_by_slug
from discuss.moderation.sites import create_site, normalize_origin

DEMO_SLUG = "demo"
DEMO_ARTICLE_URL = "https://ledger.example/city/2026/11/swing-bridge-reopens"
RELATED = [
    ("https://ledger.example/city/2026/11/ferry-timetable-winter",
     "Winter ferry timetable cuts two evening crossings", "City"),
    ("https://ledger.example/business/2026/11/harbour-market-expands",
     "Harbour market to open on Sundays from spring", "Business"),
    ("https://ledger.example/environment/2026/11/river-otters-return",
     "Otters spotted upstream of the weir for the first time in 40 years", "Environment"),
    ("https://ledger.example/opinion/2026/11/bridges-not-bypasses",
     "Opinion: Build bridges, not bypasses", "Opinion"),
]

_TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "templates", "demo")
_env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html"]))


def render_demo_page(comments_host: str, site: str = DEMO_SLUG, article: str | None = None,
                     theme: str | None = None, sso_token: str | None = None, reader: str | None = None,
                     sso_login_url: str | None = None, page_url: str | None = None,
                     query: dict[str, str] | None = None, lang: str | None = None) -> str:
    """The article page HTML, loading the widget from ``comments_host`` (e.g. http://127.0.0.1:8080).

    ``article`` overrides the article id (by default the widget uses the canonical URL);
    ``theme`` ("light"/"dark") is passed to the widget through the snippet's data-theme.
    ``sso_token`` is what the publisher's backend signed for its signed-in ``reader`` (shown in the
    masthead) and goes on the snippet as data-sso-token; ``sso_login_url`` as data-sso-login-url.
    ``lang`` goes on the snippet as data-lang (the widget's language, whatever the reader's browser says).
    ``page_url`` is where the page is served: its canonical URL, and so the thread's article URL,
    which must be on one of the site's allowed origins (a new thread's link cannot point elsewhere).
    ``query`` is the page's own query string: the theme toggle's links keep it and change ``theme``.
    """
    host = comments_host.rstrip("/")
    theme = theme if theme in ("light", "dark") else None
    theme_links = [(label, value, theme_link(query or {}, value))
                   for label, value in (("Light", "light"), ("Dark", "dark"), ("Auto", None))]
    return _env.get_template("article.html").render(
        host=host, site=site, article=article, canonical=page_url or DEMO_ARTICLE_URL, related=RELATED,
        theme=theme, theme_links=theme_links, sso_token=sso_token, reader=reader, sso_login_url=sso_login_url,
        lang=best_match([lang]))


def theme_link(query: dict[str, str], theme: str | None) -> str:
    """A relative link to this page with ``?theme=`` set to theme (or removed, for "Auto": the
    reader's own prefers-color-scheme), every other query parameter kept."""
    from urllib.parse import urlencode

    kept = {k: v for k, v in query.items() if k != "theme" and v}
    if theme:
        kept["theme"] = theme
    return "?" + urlencode(kept) if kept else "?"


def sign_demo_token(secret: str, user_id: str, name: str, site: str = DEMO_SLUG, lifetime: int = 600,
                    **claims) -> str:
    """An SSO token as a publisher's backend signs it (HS256 JWT), for the demo and tests.

    A negative ``lifetime`` gives an already expired token.
    """
    import time

    import jwt

    now = int(time.time())
    payload = {"sub": user_id, "name": name, "aud": site, "iat": now + min(lifetime, 0) - 60,
               "exp": now + lifetime, **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


def ensure_demo_site(origins: list[str]):
    """Create (or update) the "demo" site so the given origins may embed it. Idempotent."""
    site = site_by_slug(DEMO_SLUG)
    if site is None:
        return create_site(DEMO_SLUG, "The Riverton Ledger (demo)", list(origins))
    wanted = [normalize_origin(o) for o in origins]
    missing = [o for o in wanted if o not in (site.allowed_origins or [])]
    if missing:
        site.allowed_origins = [*(site.allowed_origins or []), *missing]
        db.session.commit()
    return site
