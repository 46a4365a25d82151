"""The embed's server-rendered pages: embed.js, the iframe page, the read-only fallback, the demo."""
from __future__ import annotations

import json
import os
import re

from discuss.embed import load_strings
from discuss.embed.demo import DEMO_ARTICLE_URL, RELATED, ensure_demo_site, render_demo_page
from discuss.models import CommentStatus
from tests.factories import ORIGIN, make_comment, make_site, make_thread, make_user

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def csp(response) -> dict[str, str]:
    parts = [p.strip().split(" ", 1) for p in response.headers["Content-Security-Policy"].split(";")]
    return {p[0]: p[1] if len(p) > 1 else "" for p in parts}


def test_embed_js_carries_count_strings_and_is_javascript(client):
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    source = response.get_data(as_text=True)
    assert "/*STRINGS*/" not in source
    strings = json.loads(re.search(r"var ALL=(\{.*?\});", source).group(1))
    assert strings["en"]["count_one"] == "{n} comment" and strings["uk"]["count_few"] == "{n} коментарі"
    assert "empty" not in strings["en"]  # only what the publisher page needs


def test_thread_page_may_be_framed_only_by_the_sites_origins(client):
    make_site("news", origins=[ORIGIN])
    response = client.get("/embed/thread", query_string={"site": "news", "article": "a1", "origin": ORIGIN})
    assert response.status_code == 200
    policy = csp(response)
    assert policy["frame-ancestors"] == f"'self' {ORIGIN}"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    html = response.get_data(as_text=True)
    config = json.loads(re.search(r'id="discuss-config">(.*?)</script>', html).group(1))
    assert config["parentOrigin"] == ORIGIN and config["article"] == "a1" and config["site"] == "news"


def test_thread_page_never_messages_an_origin_the_site_did_not_allow(client):
    make_site("news", origins=[ORIGIN])
    html = client.get("/embed/thread", query_string={"site": "news", "article": "a1",
                                                      "origin": "https://evil.example"}).get_data(as_text=True)
    config = json.loads(re.search(r'id="discuss-config">(.*?)</script>', html).group(1))
    assert config["parentOrigin"] is None


def test_thread_page_escapes_what_the_host_page_passes(client):
    make_site("news", origins=[ORIGIN])
    html = client.get("/embed/thread", query_string={
        "site": "news", "article": "</script><script>alert(1)</script>", "title": "<b>x</b>",
        "theme": '"><script>'}).get_data(as_text=True)
    assert "<script>alert(1)" not in html and "<b>x</b>" not in html
    assert "data-theme" not in html  # only light/dark pass through


def test_unknown_site_is_not_framable(client):
    response = client.get("/embed/thread", query_string={"site": "nope", "article": "a"})
    assert response.status_code == 404
    assert csp(response)["frame-ancestors"] == "'none'"


def test_served_markup_has_no_inline_code_or_styles(client):
    """The CSP forbids inline script and style: the only <script> bodies are JSON data blocks."""
    make_site("demo", origins=[ORIGIN])
    for url in ("/embed/thread?site=demo&article=x", "/embed/read?site=demo&article=x", "/demo"):
        html = client.get(url).get_data(as_text=True)
        assert " style=" not in html and "<style" not in html, url
        assert not re.search(r"\son[a-z]+=", html), url
        for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
            assert body.strip() == "" or 'type="application/json"' in attrs, url


def test_read_page_shows_published_comments_only(client):
    site = make_site("news")
    thread = make_thread(site, "story-1")
    thread.title = "Bridge reopens"
    alice = make_user("Alice")
    top = make_comment(thread, alice, "Published **top** comment")
    make_comment(thread, make_user("Bob"), "A published reply", parent=top)
    make_comment(thread, make_user("Held"), "Held for review", status=CommentStatus.PENDING)
    gone = make_comment(thread, make_user("Gone"), "Deleted but has replies")
    make_comment(thread, make_user("Carol"), "Reply under a deleted comment", parent=gone)
    gone.status = CommentStatus.DELETED
    make_comment(thread, make_user("Mallory"), "<script>alert(1)</script> hi")
    from discuss.extensions import db
    from discuss.models.queries import touch_thread

    touch_thread(thread.id)
    db.session.commit()

    response = client.get("/embed/read", query_string={"site": "news", "article": "story-1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Bridge reopens" in html
    assert "<strong>top</strong>" in html and "A published reply" in html
    assert "Held for review" not in html
    assert "Deleted but has replies" not in html and "This comment was deleted." in html
    assert "Reply under a deleted comment" in html
    assert "<script>alert(1)" not in html


def test_read_page_for_a_thread_without_comments(client):
    make_site("news")
    html = client.get("/embed/read?site=news&article=nothing-yet").get_data(as_text=True)
    assert load_strings()["empty"] in html


def test_demo_page_renders_standalone_for_any_comment_host():
    html = render_demo_page("http://127.0.0.1:9999/")
    assert 'src="http://127.0.0.1:9999/embed.js"' in html
    assert 'data-site="demo"' in html
    assert f'<link rel="canonical" href="{DEMO_ARTICLE_URL}">' in html
    assert "data-article=" not in html  # the article id defaults to the canonical URL
    for url, title, _ in RELATED:
        assert f'data-discuss-count="{url}"' in html
    assert "<noscript>" in html and "/embed/read?site=demo" in html
    assert 'data-theme="dark"' in render_demo_page("http://h", theme="dark")


def test_demo_route_uses_its_own_host(client):
    html = client.get("/demo").get_data(as_text=True)
    assert 'src="http://localhost/embed.js"' in html


def test_ensure_demo_site_is_idempotent(app):
    site = ensure_demo_site(["http://127.0.0.1:8080"])
    again = ensure_demo_site(["http://127.0.0.1:8080", "http://localhost:8080/"])
    assert again.id == site.id
    assert again.allowed_origins == ["http://127.0.0.1:8080", "http://localhost:8080"]


def test_every_string_key_the_widget_uses_exists():
    strings = load_strings()
    with open(os.path.join(ROOT, "discuss", "static", "embed", "thread.js"), encoding="utf-8") as fh:
        source = fh.read()
    used = set(re.findall(r"\bt\('([a-z_]+)'", source)) | {
        f"{base}_{form}" for base in re.findall(r"\btn\('([a-z_]+)'", source) for form in ("one", "other")}
    used |= {"sort_oldest", "sort_newest", "sort_top"}
    used.discard("sort_")  # built from the sort name
    missing = sorted(k for k in used if k not in strings)
    assert missing == []


def test_read_page_pages_through_long_threads(app, client):
    app.config["MAX_PAGE_LIMIT"] = 3
    site = make_site("news")
    thread = make_thread(site, "long")
    for i in range(5):
        make_comment(thread, body=f"Comment number {i}")
    html = client.get("/embed/read?site=news&article=long").get_data(as_text=True)
    assert "Comment number 2" in html and "Comment number 3" not in html
    next_url = re.search(r'href="(/embed/read\?[^"]*cursor=[^"]*)"', html).group(1).replace("&amp;", "&")
    html = client.get(next_url).get_data(as_text=True)
    assert "Comment number 3" in html and "Comment number 4" in html and "Comment number 0" not in html
    assert client.get("/embed/read?site=news&article=long&cursor=garbage").status_code == 400
