"""The widget shows a staff badge on comments written by staff, and a thread closed automatically
N days after its first comment (the site's auto_close_days) as closed, with no comment form."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest

from discuss.extensions import db
from discuss.models import Comment, Role, Site, Thread, User, utcnow
from discuss.models.queries import touch_thread
from tests.browser.conftest import CHROMIUM, open_thread
from tests.dashboard_support import make_staff

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian chromium")


def test_staff_badge_and_auto_closed_thread(env, new_page, artifacts):
    with env.app.app_context():
        make_staff("desk@ledger.example", Role.MODERATOR)
    env.post("old-story", "Posted long ago.", name="Early Reader")
    with env.app.app_context():
        site = db.session.query(Site).filter_by(slug="demo").one()
        thread = db.session.query(Thread).filter_by(site_id=site.id, article_id="old-story").one()
        thread.created_at = utcnow() - timedelta(days=8)
        desk = db.session.query(User).filter_by(email="desk@ledger.example").one()
        note = Comment(thread_id=thread.id, author_id=desk.id, author_name=desk.display_name,
                       body_markdown="Correction: the vote was 7-2.", body_html="<p>Correction: the vote was 7-2.</p>",
                       body_text="Correction: the vote was 7-2.", status="published", reasons=[])
        db.session.add(note)
        db.session.flush()
        note.root_id = note.id
        touch_thread(thread.id)
        before = dict(site.settings or {})
        site.settings = {**before, "auto_close_days": 7}
        db.session.commit()
    try:
        page = new_page(width=420)
        frame = open_thread(page, env.demo_url("old-story"))
        badge = frame.locator(".dc-comment:has-text('Correction') .dc-badge-staff")
        assert badge.inner_text().strip().lower() == "staff"
        assert frame.locator(".dc-comment:has-text('Posted long ago') .dc-badge-staff").count() == 0
        assert "closed to new comments" in frame.locator(".dc-notice").first.inner_text()
        assert frame.locator("textarea").count() == 0
        page.locator("iframe[name=discuss-thread]").screenshot(path=os.path.join(artifacts, "widget-staff-badge-closed.png"))
        fresh = new_page(width=420)
        open_thread(fresh, env.demo_url("fresh-story"))
        assert fresh.frame_locator("iframe[name=discuss-thread]").locator("textarea").count() == 1
    finally:
        with env.app.app_context():
            site = db.session.query(Site).filter_by(slug="demo").one()
            site.settings = before
            db.session.commit()


def test_reader_resets_a_forgotten_password(env, new_page, artifacts):
    response = env.client.post("/api/v1/auth/register", json={"email": "forgetful@example.com",
                                                              "password": "original passphrase",
                                                              "display_name": "Forgetful Fran"})
    assert response.status_code == 201
    page = new_page(width=420)
    frame = open_thread(page, env.demo_url("reset-story"))
    frame.locator("button.dc-link", has_text="Sign in").first.click()
    frame.locator("button.dc-forgot").click()
    frame.locator("input[name=email]").fill("forgetful@example.com")
    frame.locator("button", has_text="Email me a link").click()
    expect_text = "If an account uses that address"
    frame.locator(f".dc-auth p[role=status]:has-text('{expect_text}')").wait_for()
    page.locator("iframe[name=discuss-thread]").screenshot(path=os.path.join(artifacts, "widget-forgot-password.png"))
    with env.app.app_context():
        from discuss.identity.staff_admin import RESET_SALT, link_token
        user = db.session.query(User).filter_by(email="forgetful@example.com").one()
        link = f"{env.service.url}/auth/reset?token={link_token(user, RESET_SALT)}"
    reset = new_page(width=360)
    reset.goto(link)
    reset.fill("#password", "a brand new passphrase")
    reset.click("button:has-text('Set the new password')")
    reset.wait_for_selector(".flash-ok:has-text('Your password is changed')")
    assert env.client.post("/api/v1/auth/login", json={"email": "forgetful@example.com",
                                                       "password": "a brand new passphrase"}).status_code == 200
