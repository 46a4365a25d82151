"""Permalinks and live updates in a real browser: a link to a comment behind "load more" opens,
scrolls to and highlights it; a second reader's post shows up as "1 new comment" in an open widget."""
from __future__ import annotations

import os
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM, open_thread

pytestmark = [pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium"),
              pytest.mark.timeout(120)]


def test_a_permalink_opens_a_comment_behind_load_more(env, new_page, artifacts):
    ids = [env.post("perma", f"Root comment {i:02d}", name=f"Reader {i}")["comment"]["id"] for i in range(80)]
    target = env.post("perma", "The reply someone linked to.", name="Linked", parent_id=ids[72])["comment"]
    assert target["permalink"].endswith(f"#discuss-comment-{target['id']}")
    page = new_page(height=800)
    frame = open_thread(page, env.demo_url(article="perma") + f"#discuss-comment-{target['id']}")
    item = frame.locator(f"#c-{target['id']}")
    expect(item).to_have_class("dc-item dc-hl")
    # It sat on the second page: the widget loaded it (the first page holds 50 top-level comments).
    assert frame.locator(".dc-top > .dc-item").count() >= 73
    expect(item.locator(":scope > article")).to_be_focused()
    # The publisher page scrolled (smoothly) to the comment inside the frame.
    deadline = time.monotonic() + 5
    while not 0 <= (top := item.locator(":scope > article").bounding_box()["y"]) < 800:
        assert time.monotonic() < deadline, f"comment at y={top}, page scrolled to {page.evaluate('scrollY')}"
        time.sleep(0.1)
    page.wait_for_timeout(600)  # let the smooth scroll settle before the screenshot
    page.screenshot(path=os.path.join(artifacts, "permalink-behind-load-more.png"))


def test_a_second_readers_post_appears_as_one_new_comment(env, new_page, artifacts):
    env.app.config["LIVE_POLL_SECONDS"] = 1
    env.post("live", "Already here when the page opened.", name="Early")
    first = new_page()
    frame = open_thread(first, env.demo_url(article="live"))
    # The first reader posts from the widget, so a reply to it is "to you".
    frame.get_by_label("Name").fill("Ann")
    frame.get_by_label("Join the discussion").fill("My own take on this.")
    frame.get_by_role("button", name="Post comment").click()
    own = frame.locator(".dc-item", has=frame.locator(".dc-body", has_text="My own take on this.")).last
    expect(own).to_be_visible()
    own_id = int(own.get_attribute("data-id"))

    env.post("live", "A second reader joins in.", name="Bo")
    banner = frame.locator(".dc-new")
    expect(banner).to_have_text("1 new comment — show", timeout=10_000)
    assert frame.locator(".dc-body", has_text="A second reader joins in.").count() == 0  # not until asked
    frame.locator("#discuss").screenshot(path=os.path.join(artifacts, "live-one-new-comment.png"))

    env.post("live", "Replying to Ann.", name="Cy", parent_id=own_id)
    expect(banner).to_have_text("2 new comments — show · 1 reply to you", timeout=10_000)
    banner.click()
    expect(frame.locator(".dc-body", has_text="A second reader joins in.")).to_be_visible()
    reply = frame.locator(".dc-item", has=frame.locator(".dc-body", has_text="Replying to Ann.")).last
    expect(reply.locator(".dc-badge-you")).to_have_text("Reply to you")
    expect(frame.locator(".dc-new")).to_have_count(0)
    expect(frame.locator(".dc-count")).to_have_text("4 comments")
    frame.locator("#discuss").screenshot(path=os.path.join(artifacts, "live-shown.png"))


def test_an_admin_adds_tests_and_reads_the_log_of_a_webhook(env, new_page, artifacts):
    from discuss.extensions import db
    from discuss.models import Role, Site
    from tests.dashboard_support import PASSWORD, make_staff
    from tests.support.webhook_receiver import Receiver, start_receiver

    receiver = Receiver()
    server = start_receiver(receiver)
    try:
        with env.app.app_context():
            site = db.session.scalar(db.select(Site).where(Site.slug == "demo"))
            site.settings = {**(site.settings or {}), "webhooks_allow_private": True}
            db.session.commit()
            make_staff("chief@ledger.example", Role.ADMIN)
        page = new_page(width=1280, height=1000)
        page.goto(env.service.url + "/mod/sites/demo/settings")
        page.fill("#email", "chief@ledger.example")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/mod/sites/demo/settings")
        page.fill("#webhook-url", receiver.url)
        page.check("input[name=events][value='comment.held']")
        page.check("input[name=events][value='comment.reported']")
        page.get_by_role("button", name="Add webhook").click()
        secret = page.locator("#new-webhook-secret").input_value()
        assert secret.startswith("whsec_")
        receiver.secret = secret
        page.locator("#webhooks").screenshot(path=os.path.join(artifacts, "webhooks-added.png"))
        page.get_by_role("button", name="Send test").click()
        [item] = receiver.wait_for(1)
        assert item.event == "webhook.test" and receiver.signature_ok(item)
        deadline = time.monotonic() + 5
        while "result-delivered" not in page.content():
            assert time.monotonic() < deadline
            page.reload()
        expect(page.locator("#new-webhook-secret")).to_have_count(0)  # shown once only
        page.locator("#webhooks").screenshot(path=os.path.join(artifacts, "webhooks-delivery-log.png"))
    finally:
        server.shutdown()
