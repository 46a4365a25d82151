"""A moderator's morning in a real browser: sign in, triage with the keyboard, ban, check the thread.

Headless Debian Chromium via Playwright; the app runs on a threaded werkzeug server with CSRF on.
Screenshots of the queue and settings pages land in tests/artifacts/.
"""
from __future__ import annotations

import json
import os
import threading
import urllib.request
from datetime import timedelta

import pytest
from werkzeug.serving import make_server

from discuss import create_app
from discuss.extensions import db
from discuss.models import Ban, Comment, CommentStatus, Report, ReportReason, Role, Site
from tests.dashboard_support import PASSWORD, make_staff
from tests.factories import make_comment, make_site, make_thread, make_user

ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "artifacts")
pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="needs Debian chromium")


def make_user_aged(name: str, created_at_days: int):
    from discuss.models import utcnow

    user = make_user(name)
    user.created_at = utcnow() - timedelta(days=created_at_days)
    db.session.commit()
    return user


def _seed() -> dict[str, int]:
    site = make_site("ledger")
    site.name = "The Riverton Ledger"
    db.session.commit()
    budget = make_thread(site, "council-budget-vote")
    bridge = make_thread(site, "river-bridge-closure")
    budget.title = "Council passes budget after all-night session"
    bridge.title = "River bridge to close for six months of repairs"
    db.session.commit()
    regular = make_user_aged("Maria Okafor", 400)
    newcomer = make_user_aged("first_timer_88", 0)
    troll = make_user_aged("angry_ratepayer", 12)
    parent = make_comment(budget, regular, "The library cuts are the part nobody is talking about. Branch hours "
                          "drop by a third next year.", age=timedelta(hours=9))
    make_comment(budget, regular, "Thanks for the line-by-line breakdown, very useful.", age=timedelta(days=3))
    held = make_comment(budget, newcomer, "Good point. The **evening hours** matter most for students; "
                        "is there any plan to keep them?", status=CommentStatus.PENDING, parent=parent,
                        reasons=["premoderation:new_commenter"], age=timedelta(hours=5),
                        scores={"toxicity": 0.03, "insult": 0.01, "threat": 0.0, "severe_toxicity": 0.0,
                                "identity_attack": 0.01, "obscene": 0.0})
    toxic = make_comment(budget, troll, "Only an idiot would vote for this. Every one of them should be "
                         "thrown out.", status=CommentStatus.PENDING, reasons=["toxicity:insult", "toxicity:toxicity"],
                         age=timedelta(hours=4),
                         scores={"toxicity": 0.91, "insult": 0.86, "threat": 0.22, "severe_toxicity": 0.08,
                                 "identity_attack": 0.04, "obscene": 0.12})
    spam = make_comment(bridge, troll, "Cheap contractors here: http://example.biz/deal http://example.biz/x",
                        status=CommentStatus.PENDING, reasons=["links:too_many", "suspect_word"],
                        age=timedelta(hours=2),
                        scores={"toxicity": 0.18, "insult": 0.05, "threat": 0.01, "severe_toxicity": 0.0,
                                "identity_attack": 0.0, "obscene": 0.02})
    make_comment(bridge, newcomer, "Will the ferry run while the bridge is closed?",
                 status=CommentStatus.PENDING, reasons=["scoring_unavailable"], age=timedelta(minutes=30))
    reported = make_comment(bridge, regular, "The detour adds twenty minutes each way for us.", report_count=1)
    db.session.add(Report(comment_id=reported.id, reason=ReportReason.OFF_TOPIC, note="not about the bridge"))
    db.session.commit()
    make_staff("editor@ledger.example", Role.MODERATOR, [site])
    make_staff("admin@ledger.example", Role.ADMIN)
    return {"held": held.id, "toxic": toxic.id, "spam": spam.id, "troll": troll.id, "site": site.id}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    path = tmp_path_factory.mktemp("mod-browser") / "discuss.db"
    app = create_app({"TESTING": True, "SECRET_KEY": "browser-test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "RATELIMIT_ENABLED": False, "SCORER_ENABLED": False, "WTF_CSRF_ENABLED": True})
    with app.app_context():
        db.create_all()
        ids = _seed()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}", ids
    server.shutdown()


@pytest.fixture(scope="module")
def chromium(browser):
    """The session's browser (tests/browser/conftest.py): Playwright's sync API cannot start a
    second instance while another module's is running."""
    return browser


def _public_thread(base: str, article: str) -> dict:
    with urllib.request.urlopen(f"{base}/api/v1/comments?site=ledger&article={article}") as response:
        return json.load(response)


def _ids_in(comments: list[dict]) -> set[int]:
    found = set()
    for comment in comments:
        found.add(comment["id"])
        found |= _ids_in(comment.get("replies") or [])
    return found


def test_moderator_triages_with_keyboard_and_bans(live, chromium):
    app, base, ids = live
    os.makedirs(ARTIFACTS, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    page.goto(base + "/mod/")
    assert "/auth/login" in page.url
    page.fill("#email", "editor@ledger.example")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/mod/queue/pending")
    assert page.locator('[data-count="pending"]').first.inner_text() == "4"
    page.screenshot(path=os.path.join(ARTIFACTS, "dashboard-queue.png"), full_page=True)

    # The oldest held comment is selected on load: approve it with "a".
    held = page.locator(f"#c{ids['held']}")
    assert "is-selected" in held.get_attribute("class")
    assert "pre-moderation: new commenter" in held.inner_text()  # the reason code in words
    page.keyboard.press("a")
    page.wait_for_selector(f"#c{ids['held']}.is-done")
    page.wait_for_function("document.querySelector('[data-count=pending]').textContent === '3'")

    # Selection moved to the next one (the toxic comment): pick a reason and reject with "r".
    toxic = page.locator(f"#c{ids['toxic']}")
    assert "is-selected" in toxic.get_attribute("class")
    toxic.locator("select[name=reason]").select_option("abuse")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("r")
    page.wait_for_selector(f"#c{ids['toxic']}.is-done")
    page.keyboard.press("?")
    assert page.locator("#kbd-help").is_visible()
    page.keyboard.press("Escape")

    # Ban the spammer for 7 days, rejecting their remaining held comments.
    spam = page.locator(f"#c{ids['spam']}")
    spam.locator("summary", has_text="Ban author").click()
    spam.locator("select[name=days]").select_option("7")
    spam.locator("button", has_text="Ban on ledger").click()
    page.wait_for_selector(".flash-ok")
    assert "Suspended angry_ratepayer for 7 days" in page.locator(".flash-ok").inner_text()
    assert page.locator('[data-count="pending"]').first.inner_text() == "1"
    assert not errors, errors

    with app.app_context():
        assert db.session.get(Comment, ids["held"]).status == CommentStatus.PUBLISHED
        rejected = db.session.get(Comment, ids["toxic"])
        assert rejected.status == CommentStatus.REJECTED and rejected.reasons == ["reject:abuse"]
        assert db.session.get(Comment, ids["spam"]).status == CommentStatus.REJECTED
        assert db.session.query(Ban).filter_by(user_id=ids["troll"]).count() == 1

    public = _public_thread(base, "council-budget-vote")
    assert ids["held"] in _ids_in(public["comments"])
    assert ids["toxic"] not in _ids_in(public["comments"])

    assert page.goto(base + "/auth/logout").status == 405  # sign-out is a CSRF-protected POST
    errors.clear()
    page.goto(base + "/mod/")
    page.locator("button", has_text="Sign out").click()
    page.wait_for_url("**/auth/login")
    page.fill("#email", "admin@ledger.example")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/mod/queue/pending")
    page.goto(base + "/mod/sites/ledger/settings")
    page.fill("textarea[name=banned_words]", "pills\ncasino")
    page.click("button:has-text('Save settings')")
    page.wait_for_selector(".flash-ok")
    page.screenshot(path=os.path.join(ARTIFACTS, "dashboard-settings.png"), full_page=True)
    page.goto(base + "/mod/audit?site=ledger")
    page.screenshot(path=os.path.join(ARTIFACTS, "dashboard-audit.png"), full_page=True)
    with app.app_context():
        site = db.session.query(Site).filter_by(slug="ledger").one()
        assert site.effective_settings()["banned_words"] == ["casino", "pills"]
    assert not errors, errors
    context.close()
