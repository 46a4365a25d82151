"""Moderation intelligence in a real browser: the stats page draws its charts (light, dark, 360 px),
replay and apply, undo from the queue's toast, and the dashboard at 360 px.

Screenshots land in tests/artifacts/ (insights-*.png).
"""
from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from discuss import create_app
from discuss.extensions import db
from discuss.models import Comment, CommentStatus, ModerationEvent, Role, Site
from tests.dashboard_support import PASSWORD, make_staff
from tests.factories import make_comment, make_site, make_thread, make_user
from tests.support.insights import seed_history

ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "artifacts")
pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="needs Debian chromium")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    path = tmp_path_factory.mktemp("insights-browser") / "discuss.db"
    from tests.support.scorers import FakeScorer

    app = create_app({"TESTING": True, "SECRET_KEY": "browser-test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "RATELIMIT_ENABLED": False, "SCORER": FakeScorer(), "WTF_CSRF_ENABLED": True,
                      "MAIL_ENABLED": False})
    with app.app_context():
        db.create_all()
        site = make_site("ledger")
        site.name = "The Riverton Ledger"
        admin = make_staff("admin@ledger.example", Role.ADMIN)
        make_staff("editor@ledger.example", Role.MODERATOR, [site])
        seed_history(site, admin)
        thread = make_thread(site, "bridge-closure")
        held = make_comment(thread, make_user("angry_ratepayer"), "Only an idiot would build a bridge like this.",
                            status=CommentStatus.PENDING, reasons=["toxicity:insult"],
                            scores={"toxicity": 0.91, "insult": 0.86, "threat": 0.02})
        ids = {"held": held.id}
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = base  # links (the invite) are built only from the configured public URL
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield app, base, ids
    server.shutdown()


@pytest.fixture(scope="module")
def chromium(browser):
    """The session's browser (tests/browser/conftest.py): Playwright's sync API cannot start a
    second instance while another module's is running."""
    return browser


def signed_in(chromium, base: str, email: str, width: int = 1280, scheme: str = "light"):
    context = chromium.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("response", lambda r: page.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(base + "/auth/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/mod/queue/pending")
    return context, page


def shot(page, name: str) -> None:
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, name), full_page=True)


def fits(page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


def test_stats_page_draws_its_charts_and_replays(live, chromium):
    app, base, _ = live
    context, page = signed_in(chromium, base, "admin@ledger.example")
    page.click(".mainnav a:has-text('Stats')")
    page.wait_for_url("**/mod/sites/ledger/stats")
    page.select_option("select[name=days]", "14")
    page.wait_for_url("**days=14**")
    charts = page.locator("svg.chart")
    assert charts.count() == 5
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box["width"] > 300 and box["height"] > 60
    assert page.locator("svg.chart rect").count() > 30            # bars were drawn
    assert int(page.locator("[data-stat=pending]").inner_text()) >= 1
    shot(page, "insights-stats.png")

    page.click("a:has-text('Replay the suggested thresholds')")
    page.wait_for_selector(".replay-result")
    changed = int(page.locator(".replay-result").get_attribute("data-changed"))
    assert page.locator(".replay-result h3").first.inner_text().startswith(f"{changed} of ")
    page.locator("#replay").screenshot(path=os.path.join(ARTIFACTS, "insights-replay.png"))
    page.fill(".apply-form input[name=note]", "suggested from replay")
    page.click("button:has-text('Apply these thresholds')")
    page.wait_for_selector(".flash-ok")
    with app.app_context():
        event = db.session.query(ModerationEvent).filter_by(action="apply_thresholds").one()
        assert event.note == "suggested from replay" and event.details["new"]["hold_thresholds"]
    assert not page.errors, page.errors
    context.close()


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_stats_page_at_360px(live, chromium, scheme):
    _, base, _ = live
    context, page = signed_in(chromium, base, "editor@ledger.example", width=360, scheme=scheme)
    page.goto(base + "/mod/sites/ledger/stats?days=14")
    assert page.locator("svg.chart").count() == 5
    assert fits(page, 360)
    box = page.locator("svg.chart").first.bounding_box()
    assert 300 <= box["width"] <= 360
    if scheme == "dark":
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(20, 23, 29)"
        label = page.locator("svg.chart text.axis").first
        assert label.evaluate("e => getComputedStyle(e).fill") == "rgb(154, 163, 178)"
    shot(page, f"insights-stats-360-{scheme}.png")
    context.close()


def test_undo_from_the_queue_restores_the_comment(live, chromium):
    app, base, ids = live
    context, page = signed_in(chromium, base, "editor@ledger.example")
    page.goto(base + "/mod/queue/pending?site=ledger&sort=newest")
    item = page.locator(f"#c{ids['held']}")
    item.locator("button:has-text('Reject')").click()
    page.wait_for_selector(f"#c{ids['held']}.is-done")
    toast = page.locator(".undo-toast")
    assert "rejected" in toast.inner_text()
    shot(page, "insights-undo-toast.png")
    with app.app_context():
        assert db.session.get(Comment, ids["held"]).status is CommentStatus.REJECTED
    toast.locator("button:has-text('Undo')").click()
    page.wait_for_selector(".flash-ok:has-text('Undone')")
    page.wait_for_selector(f"#c{ids['held']}:not(.is-done) .status-badge")
    assert page.locator(f"#c{ids['held']} .status-badge").inner_text().lower() == "pending"
    with app.app_context():
        db.session.expire_all()
        comment = db.session.get(Comment, ids["held"])
        assert comment.status is CommentStatus.PENDING and comment.reasons == ["toxicity:insult"]
        assert db.session.query(ModerationEvent).filter_by(action="undo").count() == 1
    # the toast goes away by itself after 10 s
    item.locator("button:has-text('Approve')").click()
    page.wait_for_selector(".undo-toast")
    page.wait_for_selector(".undo-toast", state="detached", timeout=12_000)
    assert not page.errors, page.errors
    context.close()


def test_dashboard_at_360px(live, chromium):
    _, base, ids = live
    context, page = signed_in(chromium, base, "admin@ledger.example", width=360)
    for url, name in (("/mod/queue/pending?site=ledger", "queue"), (f"/mod/comments/{ids['held']}", "comment"),
                      ("/mod/sites/ledger/settings", "settings"), ("/mod/audit?site=ledger", "audit")):
        page.goto(base + url)
        assert fits(page, 360), (name, page.evaluate("document.documentElement.scrollWidth"))
        nav = page.locator(".mainnav").bounding_box()
        assert nav["x"] >= 0 and nav["x"] + nav["width"] <= 361
        shot(page, f"insights-360-{name}.png")
    assert not page.errors, page.errors
    context.close()


def test_comment_page_refreshes_after_an_action_without_reloading(live, chromium):
    app, base, _ = live
    with app.app_context():
        site = db.session.query(Site).filter_by(slug="ledger").one()
        thread = make_thread(site, "ferry-timetable")
        author = make_user("ferry_rider")
        make_comment(thread, author, "Earlier comment, already published.")
        held = make_comment(thread, author, "When does the first ferry leave?", status=CommentStatus.PENDING,
                            reasons=["premoderation:new_commenter"])
        held_id = held.id
    context, page = signed_in(chromium, base, "editor@ledger.example")
    page.goto(base + f"/mod/comments/{held_id}")
    page.evaluate("window.__sameDocument = true")
    assert "1 published" in page.locator(".thread-panel").inner_text()
    page.locator(f"#c{held_id} button:has-text('Approve')").click()
    page.wait_for_selector(".thread-panel:has-text('2 published')")
    assert page.evaluate("window.__sameDocument === true")            # no reload: the page re-read itself
    assert "2 published" in page.locator(f"#c{held_id} .history").inner_text()
    assert "History (1)" in page.locator(f"#c{held_id} .history-log summary").inner_text()
    assert "approved pending → published" in page.locator(f"#c{held_id} .history-log").inner_text()
    shot(page, "insights-comment-refreshed.png")
    assert not page.errors, page.errors
    context.close()


def test_staff_invite_flow_from_link_to_first_sign_in(live, chromium):
    app, base, _ = live
    context, page = signed_in(chromium, base, "admin@ledger.example")
    page.click(".mainnav a:has-text('Staff')")
    page.wait_for_url("**/mod/staff")
    page.fill("#invite-email", "reporter@ledger.example")
    page.select_option("#invite-role", "moderator")
    page.check(".invite-form input[name=sites]")
    page.click("button:has-text('Send invitation')")
    link = page.locator("#invite-link").input_value()
    assert "/auth/invite?token=" in link
    shot(page, "insights-staff.png")
    context.close()

    newcomer = chromium.new_context(viewport={"width": 360, "height": 800})
    page = newcomer.new_page()
    page.set_default_timeout(10_000)
    page.goto(link)
    assert "reporter@ledger.example" in page.inner_text("main")
    page.fill("#display_name", "Rosa Reporter")
    page.fill("#password", "first sign-in passphrase")
    shot(page, "insights-invite-accept.png")
    page.click("button:has-text('Join and sign in')")
    page.wait_for_url("**/mod/queue/pending")
    assert "Welcome, Rosa Reporter" in page.locator(".flash-ok").inner_text()
    assert page.locator(".whoami").inner_text().startswith("Rosa Reporter")
    page.goto(link)                                                    # a second use is refused
    assert "already used" in page.inner_text("main")
    with app.app_context():
        from discuss.models import User
        user = db.session.query(User).filter_by(email="reporter@ledger.example").one()
        assert user.role is Role.MODERATOR and user.last_seen_at is not None
    newcomer.close()


def test_bulk_reject_then_undo_from_the_queue(live, chromium):
    app, base, _ = live
    with app.app_context():
        site = db.session.query(Site).filter_by(slug="ledger").one()
        thread = make_thread(site, "bulk-story")
        ids = [make_comment(thread, make_user(f"bulk{i}"), f"Spam number {i}", status=CommentStatus.PENDING,
                            reasons=["suspect_word"]).id for i in range(2)]
        thread_id = thread.id
    context, page = signed_in(chromium, base, "editor@ledger.example")
    page.goto(base + f"/mod/queue/pending?site=ledger&thread={thread_id}")
    for comment_id in ids:
        page.check(f"#c{comment_id} .js-select")
    page.click("button:has-text('Reject selected')")
    page.wait_for_selector(".undo-toast:has-text('Rejected: 2 comments')")
    shot(page, "insights-bulk-undo.png")
    page.click(".undo-toast button:has-text('Undo')")
    page.wait_for_selector(".flash-ok:has-text('Undone: 2 of 2')")
    with app.app_context():
        db.session.expire_all()
        assert [db.session.get(Comment, i).status for i in ids] == [CommentStatus.PENDING] * 2
    assert not page.errors, page.errors
    context.close()
