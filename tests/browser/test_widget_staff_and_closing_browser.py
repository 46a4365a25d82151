"""The widget shows a staff badge on comments written by staff, and a thread closed automatically
N days after its first comment (the site's auto_close_days) as closed, with no comment form.
(The widget's sign-up and password reset screens are in test_widget_accounts_browser.py.)"""
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
