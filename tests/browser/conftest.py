"""Real-browser fixtures: the comment service and a publisher's demo page on two origins.

The comment service runs on 127.0.0.1:<port A>; the demo article page (rendered by
discuss.embed.demo.render_demo_page) on 127.0.0.1:<port B>, so the widget works across
origins exactly as on a publisher's site. Headless Debian Chromium via Playwright.
"""
from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from discuss import create_app
from discuss.embed.demo import render_demo_page
from discuss.extensions import db
from tests.support.scorers import FakeScorer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "artifacts")

class ServerThread:
    def __init__(self, app, host: str = "127.0.0.1"):
        self.server = make_server(host, 0, app, threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "ServerThread":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()


def demo_wsgi(comments_host_ref: dict[str, str]):
    """The publisher: serves the demo article; ?article= and ?theme= vary it per test, ?site= picks
    another site, ?login= its sign-in page. ?session=KEY stands in for the publisher's own login
    cookie: the page then carries the SSO token its backend signed for that reader
    (Env.publisher_sessions[KEY] = (token, name)); "" as the token means signed out."""

    @Request.application
    def app(request: Request) -> Response:
        if request.path != "/":
            return Response("not found", status=404)
        args = request.args
        token, reader = comments_host_ref.get("sessions", {}).get(args.get("session") or "", (None, None))
        html = render_demo_page(comments_host_ref["url"], site=args.get("site") or "demo",
                                article=args.get("article") or None, theme=args.get("theme") or None,
                                sso_token=token, reader=reader, sso_login_url=args.get("login") or None,
                                page_url=request.host_url, query=args.to_dict(), lang=args.get("lang") or None)
        return Response(html, mimetype="text/html")

    return app


class Env:
    """Both servers plus helpers to seed data through the real API."""

    def __init__(self, app, service: ServerThread, demo: ServerThread, scorer: FakeScorer,
                 publisher_sessions: dict | None = None):
        self.publisher_sessions = publisher_sessions if publisher_sessions is not None else {}
        self.app = app
        self.service = service
        self.demo = demo
        self.scorer = scorer
        self.client = app.test_client()

    def demo_url(self, article: str | None = None, theme: str | None = None, **extra: str | None) -> str:
        from urllib.parse import urlencode

        query = {k: v for k, v in (("article", article), ("theme", theme), *extra.items()) if v}
        return self.demo.url + "/" + (("?" + urlencode(query)) if query else "")

    def post(self, article: str, body: str, name: str = "Ada", parent_id: int | None = None,
             token: str | None = None, **extra: Any) -> dict:
        payload = {"site": "demo", "article": article, "body": body, "author_name": name,
                   "article_url": self.demo.url + "/" + article, "article_title": "Test " + article}
        if parent_id:
            payload["parent_id"] = parent_id
        payload.update(extra)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.client.post("/api/v1/comments", json=payload, headers=headers)
        assert response.status_code in (201, 202), response.get_json()
        return response.get_json()


@pytest.fixture(scope="session")
def env(tmp_path_factory):
    path = tmp_path_factory.mktemp("browser") / "discuss.db"
    scorer = FakeScorer()
    ref: dict[str, str] = {}
    demo = ServerThread(demo_wsgi(ref))
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "RATELIMIT_ENABLED": False, "SCORER": scorer, "WTF_CSRF_ENABLED": False,
                      "MAIL_ENABLED": False})
    with app.app_context():
        db.create_all()
        from discuss.moderation.sites import create_site

        create_site("demo", "The Riverton Ledger", [demo.url])
    service = ServerThread(app)
    ref["url"] = service.url
    demo.start()
    service.start()
    ref["sessions"] = {}
    yield Env(app, service, demo, scorer, ref["sessions"])
    service.stop()
    demo.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    pw.stop()


class Watch:
    """Everything a page did that a test may want to assert on."""

    def __init__(self):
        self.console: list[str] = []
        self.requests: list[str] = []
        self.errors: list[str] = []


@pytest.fixture
def new_page(browser, env):
    """Factory: a page in a fresh browser context (a fresh reader), with its activity recorded."""
    contexts = []

    def factory(width: int = 1200, height: int = 900, color_scheme: str = "light", javascript: bool = True):
        context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=color_scheme,
                                      java_script_enabled=javascript)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        watch = Watch()
        page.on("console", lambda m: watch.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: watch.errors.append(str(e)))
        context.on("request", lambda r: watch.requests.append(r.url))
        page.watch = watch
        return page

    yield factory
    for context in contexts:
        context.close()


def open_thread(page, url: str):
    """Load the publisher page and return the widget's frame once the thread has rendered."""
    page.goto(url)
    page.wait_for_selector("iframe[name=discuss-thread]")
    frame = page.frame_locator("iframe[name=discuss-thread]")
    frame.locator("#discuss[data-ready=true]").wait_for(state="attached")
    return frame


@pytest.fixture(scope="session")
def artifacts():
    os.makedirs(ARTIFACTS, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def outbox(env, monkeypatch):
    """Mail on for this test, sent inline and kept here (discuss.jobs.mail.Mail objects) instead of
    going out over SMTP: for flows that go through an emailed link."""
    from discuss.jobs import mail

    sent: list = []
    monkeypatch.setattr(mail, "send", sent.append)
    for key, value in (("MAIL_ENABLED", True), ("PUBLIC_URL", env.service.url), ("MAIL_DELIVERY", "inline")):
        monkeypatch.setitem(env.app.config, key, value)
    return sent


def open_emailed_link(env, outbox, to: str) -> None:
    """Open the link in the last email to ``to`` (as its reader would, outside the widget)."""
    [message] = [m for m in outbox if m.to == to][-1:]
    assert env.client.get(message.context["link"].replace(env.service.url, "")).status_code == 200
