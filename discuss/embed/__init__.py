"""The reader-facing embed: /embed.js (publisher page), /embed/thread (the iframe), /embed/read
(no-JavaScript fallback) and /demo (a sample article page).

Isolation is by iframe: the thread is a page of the comment host, so the publisher's CSS cannot
reach it and its code cannot touch the publisher's page. ``frame-ancestors`` limits who may frame
it to the site's allowed origins; the only channel between the two is an origin-checked
``postMessage`` carrying the iframe's height, and, for publisher single sign-on, the site's signed
token going the other way (never in a URL): embed.js hands it to the iframe only after the iframe
says it is ready, addressed to the comment host's origin; the iframe accepts it only from its
parent window at the origin checked here.
"""
from __future__ import annotations

from babel import Locale
from babel.numbers import format_decimal
from flask import Blueprint, Flask, Response, abort, current_app, g, render_template, request, url_for

from discuss.embed.demo import render_demo_page
from discuss.embed.feeds import register as register_feeds
from discuss.embed.read import published_thread
from discuss.embed.strings import (MINIFIED, accept_languages, asset_version, choose_language,
                                   embed_js_source, load_strings, minified, strings_json)
from discuss.errors import ApiError
from discuss.models.queries import site_by_slug

bp = Blueprint("embed", __name__)
register_feeds(bp)

THEMES = ("light", "dark")


def asset_url(filename: str) -> str:
    return url_for("embed.asset", filename=filename, v=asset_version(filename))


def page_language(site) -> str:
    """The language of an embed page: ?lang= (data-lang), the site's default, the reader's
    browser languages (?langs=, navigator.languages passed on by embed.js, else Accept-Language)."""
    browser = [t for t in (request.args.get("langs") or "").split(",")[:10] if t]
    browser += accept_languages(request.accept_languages)
    site_language = site.effective_settings().get("language") if site is not None else None
    return choose_language(request.args.get("lang"), site_language, browser)


def _site(slug: str | None):
    return site_by_slug(slug) if slug else None


def _frame_ancestors(site) -> str:
    # 'self' lets the comment host's own /demo page frame the thread.
    return " ".join(["'self'", *(site.allowed_origins or [])])


def _clean(value: str | None, limit: int) -> str:
    return (value or "").strip()[:limit]


@bp.get("/embed.js")
def embed_js():
    response = Response(embed_js_source(), mimetype="application/javascript")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/embed/assets/<filename>")
def asset(filename: str):
    """thread.js and thread.css, minified; the URL carries the content's hash, so it is cached long."""
    if filename not in MINIFIED:
        abort(404)
    mimetype = "text/css" if filename.endswith(".css") else "application/javascript"
    response = Response(minified(filename), mimetype=mimetype)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if request.args.get("v") else "public, max-age=300"
    return response


@bp.get("/embed/thread")
def thread_page():
    site = _site(request.args.get("site"))
    strings = load_strings(page_language(site))
    if site is None:
        return render_template("embed/unavailable.html", strings=strings), 404
    g.csp_frame_ancestors = _frame_ancestors(site)
    parent_origin = request.args.get("origin")
    if not site.allows_origin(parent_origin) and parent_origin != request.host_url.rstrip("/"):
        parent_origin = None  # no resize messages to an origin the site did not allow
    theme = request.args.get("theme")
    article = _clean(request.args.get("article"), 512)
    if not article:
        abort(400)
    config = {
        "site": site.slug,
        "article": article,
        "url": _clean(request.args.get("url"), 2048),
        "title": _clean(request.args.get("title"), 512),
        "parentOrigin": parent_origin,
        "api": "/api/v1",
        "pageSize": current_app.config.get("EMBED_PAGE_SIZE", 50),
        "readUrl": url_for("embed.read_page", site=site.slug, article=article),
        "siteName": site.name,
        # embed.js will post the page's SSO state (a token or "signed out") once the iframe is
        # ready; the thread waits briefly for it so a signed-in reader never sees the guest form.
        "sso": bool(parent_origin) and request.args.get("sso") == "1",
        # The publisher gave a sign-in page (data-sso-login-url); embed.js opens it on request.
        "ssoLogin": bool(parent_origin) and request.args.get("login") == "1",
        # A permalink on the article (#discuss-comment-<id>, passed on by embed.js): open that comment.
        "focus": int(request.args["comment"]) if request.args.get("comment", "").isdigit() else None,
        "livePoll": current_app.config["LIVE_POLL_SECONDS"],
    }
    response = Response(render_template(
        "embed/thread.html", config=config, strings=strings, strings_json=strings_json(strings["locale"]),
        theme=theme if theme in THEMES else None,
        css_url=asset_url("thread.css"), js_url=asset_url("thread.js")))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/embed/read")
def read_page():
    site = _site(request.args.get("site"))
    language = page_language(site)
    request.environ["discuss.locale"] = language  # Flask-Babel formats the page's dates in it
    strings = load_strings(language)
    article = _clean(request.args.get("article"), 512)
    if site is None or not article:
        return render_template("embed/unavailable.html", strings=strings), 404
    g.csp_frame_ancestors = _frame_ancestors(site)
    try:
        thread, comments, next_cursor = published_thread(site, article, request.args.get("cursor") or None)
    except ApiError:  # a stale or hand-edited cursor
        abort(400)
    title = (thread.title if thread and thread.title else None) or article
    next_url = url_for("embed.read_page", site=site.slug, article=article, cursor=next_cursor) if next_cursor else None
    return render_template("embed/read.html", strings=strings, site=site, thread=thread, title=title,
                           comments=comments, count=thread.published_count if thread else 0, next_url=next_url,
                           css_url=asset_url("thread.css"), read_css_url=asset_url("read.css"))


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask every host for /favicon.ico; answer with the service's icon, not a 404."""
    response = current_app.send_static_file("favicon.ico")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


@bp.get("/demo")
def demo_page():
    host = request.host_url.rstrip("/")
    page = render_demo_page(host, article=request.args.get("article") or None,
                            theme=request.args.get("theme") or None, page_url=host + "/demo",
                            query=request.args.to_dict(), lang=request.args.get("lang") or None)
    return Response(page, mimetype="text/html")


def init_app(app: Flask) -> None:
    @app.template_filter("embed_count")
    def embed_count(n: int, strings: dict | None = None) -> str:
        """A comment count with the language's plural form (CLDR rules, from Babel)."""
        s = strings or load_strings()
        form = Locale.parse(s["locale"]).plural_form(n)
        key = "count_zero" if n == 0 and "count_zero" in s else f"count_{form}"
        return s.get(key, s["count_other"]).replace("{n}", format_decimal(n, locale=s["locale"]))
