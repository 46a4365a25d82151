"""axe-core audits (tests/browser/axe.py) of every screen a reader or moderator meets, in light and
dark, at 360 px and at desktop width: 0 serious or critical violations is the bar.

Screens: the widget (empty, with threads, reply form open, sign-in panel, account panel, toxicity
nudge), the no-JavaScript read page, the demo article page, and the dashboard (login, queue, one
comment, settings, audit log, stats, staff), the invite-accept and password-reset pages, and the
dashboard right after an action (its flash message shown).
"""
from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from discuss.extensions import db
from discuss.models import Role, User
from tests.browser.axe import blocking, describe, run_axe
from tests.browser.conftest import CHROMIUM, open_thread
from tests.dashboard_support import PASSWORD, make_staff

pytestmark = [pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium"),
              pytest.mark.timeout(120)]

WIDTHS = {"360": (360, 780), "desktop": (1280, 900)}
THEMES = ("light", "dark")
READER = ("ruth.adebayo@example.com", "Ruth Adebayo", "a long enough password")
STAFF_EMAIL = "a11y-admin@ledger.example"


@pytest.fixture(scope="module")
def world(env):
    """Threads to audit, a held comment from a guest in the queue, a reader account and an admin."""
    first = env.post("a11y-threads", "Finally. The long way round over the bypass adds **twenty minutes** "
                     "to my commute.", name="Priya Raman")
    second = env.post("a11y-threads", "Will it still open for the tall ships in summer?", name="Owen Fletcher")
    env.post("a11y-threads", "Same here, the market quarter will be busier.", name="Hannah Cole",
             parent_id=first["comment"]["id"])
    env.post("a11y-threads", "10:00 and 16:00, says the notice at the quay.", name="Tomasz Wrenn",
             parent_id=second["comment"]["id"])
    held = env.post("a11y-threads", "Surely an idiot designed this cycle lane.", name="Grumpy Guest",
                    acknowledge_warning=True)
    assert held["comment"]["status"] == "pending"
    with env.app.app_context():
        from discuss.identity import registration
        from discuss.models.queries import site_by_slug

        # An account as a reader makes one: sign up, then open the emailed link (it verifies the address).
        registration.confirm(registration.register(READER[0], READER[2], READER[1]).token)
        if not db.session.query(User).filter_by(email=STAFF_EMAIL).first():
            make_staff(STAFF_EMAIL, Role.ADMIN, [site_by_slug("demo")])
    return {"held": held["comment"]["id"]}


@pytest.fixture
def audit_page(browser, env):
    """Factory: a page whose context may inject axe-core past the service's strict CSP."""
    contexts = []

    def factory(width_name: str, theme: str, **options):
        width, height = WIDTHS[width_name]
        context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=theme,
                                      bypass_csp=True, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield factory
    for context in contexts:
        context.close()


def assert_no_blocking(target, where: str) -> None:
    found = blocking(run_axe(target))
    assert not found, f"{where}:\n{describe(found)}"


def widget_frame(page):
    return page.frame(name="discuss-thread")


def sign_in_reader(frame) -> None:
    frame.get_by_role("button", name="Sign in").click()
    frame.get_by_label("Email (never shown)").fill(READER[0])
    frame.get_by_label("Password").fill(READER[2])
    frame.locator(".dc-auth").get_by_role("button", name="Sign in").click()
    expect(frame.locator(".dc-id")).to_contain_text(f"Commenting as {READER[1]}.")


def open_widget_state(page, env, state: str):
    """Bring the widget to one of its screens; returns the FrameLocator."""
    article = "a11y-empty" if state in ("empty", "sign-in", "nudge") else "a11y-threads"
    frame = open_thread(page, env.demo_url(article=article))
    if state == "threads":
        expect(frame.locator(".dc-top > .dc-item")).to_have_count(2)
    elif state == "reply":
        frame.get_by_role("button", name="Reply").first.click()
        expect(frame.get_by_label("Your reply to Priya Raman")).to_be_focused()
    elif state == "sign-in":
        frame.get_by_role("button", name="Sign in").click()
        expect(frame.get_by_role("heading", name="Sign in to comment")).to_be_visible()
    elif state == "account":
        sign_in_reader(frame)
        frame.get_by_role("button", name="My account").click()
        expect(frame.get_by_role("region", name="My account")).to_be_visible()
    elif state == "nudge":
        frame.get_by_label("Name").fill("Grumpy")
        frame.get_by_label("Join the discussion").fill("Surely an idiot planned this bridge.")
        frame.get_by_role("button", name="Post comment").click()
        expect(frame.get_by_role("alertdialog")).to_contain_text("Are you sure?")
    return frame


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("state", ["empty", "threads", "reply", "sign-in", "account", "nudge"])
def test_widget_has_no_serious_axe_violations(env, world, audit_page, state, theme, width):
    page = audit_page(width, theme)
    open_widget_state(page, env, state)
    assert_no_blocking(widget_frame(page), f"widget {state} {theme} {width}")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("theme", THEMES)
def test_read_page_without_javascript_has_no_serious_axe_violations(env, world, audit_page, theme, width):
    # The page is for readers with JavaScript off; axe itself needs it, so it runs on the same HTML.
    page = audit_page(width, theme)
    page.goto(env.service.url + "/embed/read?site=demo&article=a11y-threads")
    expect(page.locator(".dc-item").first).to_be_visible()
    assert_no_blocking(page, f"read page {theme} {width}")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("theme", THEMES)
def test_demo_page_has_no_serious_axe_violations(env, world, audit_page, artifacts, theme, width):
    page = audit_page(width, theme)
    open_thread(page, env.demo_url(article="a11y-threads"))
    expect(page.locator("[data-discuss-count]").first).not_to_have_text("…")
    page.screenshot(path=os.path.join(artifacts, f"a11y-demo-{theme}-{width}.png"))
    assert_no_blocking(page, f"demo page {theme} {width}")


def staff_sign_in(page, base: str) -> None:
    page.goto(base + "/auth/login")
    page.fill("#email", STAFF_EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/mod/**")


DASHBOARD = {
    "login": None,
    "queue": "/mod/queue/pending?site=demo",
    "comment": "/mod/comments/{held}",
    "settings": "/mod/sites/demo/settings",
    "audit": "/mod/audit?site=demo",
    "stats": "/mod/sites/demo/stats",
    "staff": "/mod/staff",
    "invite": "/auth/invite?token={invite}",  # signed out: the page an invited moderator opens
    "reset": "/auth/reset?token={reset}",  # signed out: the page a password-reset email links to
}


@pytest.fixture(scope="module")
def links(env, world):
    """An invitation and a password-reset link, made as the emails make them."""
    from discuss.identity.staff_admin import INVITE_SALT, RESET_SALT, link_token

    with env.app.app_context():
        invitee = db.session.query(User).filter_by(email="invitee@ledger.example").first() or make_staff(
            "invitee@ledger.example", Role.MODERATOR)
        reader = db.session.query(User).filter_by(email=READER[0]).one()
        return {**world, "invite": link_token(invitee, INVITE_SALT), "reset": link_token(reader, RESET_SALT)}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("screen", DASHBOARD)
def test_dashboard_has_no_serious_axe_violations(env, links, audit_page, artifacts, screen, theme, width):
    page = audit_page(width, theme)
    base = env.service.url
    if screen == "login":
        page.goto(base + "/auth/login")
    else:
        if not screen.startswith(("invite", "reset")):
            staff_sign_in(page, base)
        response = page.goto(base + DASHBOARD[screen].format(**links))
        assert response.status == 200
    if screen in ("staff", "invite", "reset"):
        page.screenshot(path=os.path.join(artifacts, f"a11y-{screen}-{theme}-{width}.png"), full_page=True)
    assert_no_blocking(page, f"dashboard {screen} {theme} {width}")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("outcome", ["ok", "error"])
def test_dashboard_right_after_an_action_has_no_serious_axe_violations(env, world, audit_page, artifacts,
                                                                       outcome, theme, width):
    """The page an action lands on, its flash message shown: a saved profile, or a refused filter."""
    page = audit_page(width, theme)
    base = env.service.url
    staff_sign_in(page, base)
    if outcome == "ok":
        page.goto(base + "/mod/profile")
        page.locator("form button[type=submit]").last.click()
    else:
        page.goto(base + "/mod/queue/pending?site=demo&sort=loudest")
    expect(page.locator(f".flash-{outcome}")).to_be_visible()
    page.screenshot(path=os.path.join(artifacts, f"a11y-flash-{outcome}-{theme}-{width}.png"), full_page=True)
    assert_no_blocking(page, f"dashboard after an action ({outcome}) {theme} {width}")


def test_demo_theme_toggle_switches_page_and_widget(env, new_page):
    page = new_page(color_scheme="light")
    frame = open_thread(page, env.demo_url(article="a11y-toggle"))
    toggle = page.get_by_role("navigation", name="Colour theme")
    expect(toggle.get_by_role("link", name="Auto")).to_have_attribute("aria-current", "true")
    toggle.get_by_role("link", name="Dark").click()
    page.wait_for_url("**article=a11y-toggle&theme=dark")
    frame = open_thread(page, page.url)
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(frame.locator("html")).to_have_attribute("data-theme", "dark")
    assert page.locator("body").evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(20, 20, 20)"
    expect(toggle.get_by_role("link", name="Dark")).to_have_attribute("aria-current", "true")
