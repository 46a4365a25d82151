"""Proof of work (issue 15), in every mode of the site's proof_of_work setting: where it asks a
reader for one, the widget loads the vendored ALTCHA widget only once the reader starts writing,
solves the challenge in a worker, and posts; where it does not (off; guests mode for a signed-in
reader), the widget posts at once and never loads ALTCHA or asks for a challenge."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from discuss.extensions import db
from discuss.models import Comment, Site
from tests.browser.conftest import ARTIFACTS, CHROMIUM, open_thread
from tests.support.api import sign_up

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian chromium")


@pytest.fixture
def proof_of_work(env):
    """Set the demo site's proof_of_work mode for one test; put it back afterwards."""
    env.app.config["ALTCHA_COST"] = 50  # a quick puzzle: the test is about the plumbing

    def set_mode(mode: str) -> None:
        with env.app.app_context():
            site = db.session.scalar(select(Site).where(Site.slug == "demo"))
            site.settings = {**(site.settings or {}), "proof_of_work": mode}
            db.session.commit()

    yield set_mode
    env.app.config["ALTCHA_COST"] = 300
    with env.app.app_context():
        site = db.session.scalar(select(Site).where(Site.slug == "demo"))
        site.settings = {k: v for k, v in (site.settings or {}).items() if k != "proof_of_work"}
        db.session.commit()


@pytest.mark.parametrize("mode, reader, solves", [
    ("off", "guest", False),
    ("guests", "guest", True),
    ("guests", "account", False),
    ("everyone", "guest", True),
    ("everyone", "account", True),
])
def test_posting_asks_for_proof_of_work_exactly_where_the_mode_says(env, new_page, proof_of_work, mode, reader,
                                                                     solves):
    proof_of_work(mode)
    name = f"Pia {mode} {reader}"
    text = f"Posted with proof_of_work={mode} as {reader}."
    page = new_page()
    frame = open_thread(page, env.demo_url(article=f"pow-{mode}"))
    assert not any("altcha" in url for url in page.watch.requests)  # never on first load
    if reader == "account":
        email = f"pia.{mode}@example.com"
        with env.app.app_context():
            sign_up(env.client, email=email, password="pia's long passphrase", name=name)
        frame.get_by_role("button", name="Sign in").click()
        frame.get_by_label("Email (never shown)").fill(email)
        frame.get_by_label("Password").fill("pia's long passphrase")
        frame.locator(".dc-auth").get_by_role("button", name="Sign in").click()
        frame.locator(".dc-id strong", has_text=name).wait_for()
    else:
        frame.get_by_label("Name").fill(name)
    frame.get_by_label("Join the discussion").fill(text)
    frame.get_by_role("button", name="Post comment").click()
    frame.locator("article.dc-comment", has_text=text).wait_for(timeout=30_000)
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, f"widget_proof_of_work_{mode}_{reader}.png"))
    assert any(url.endswith("altcha.min.js") for url in page.watch.requests) is solves
    assert any("/api/v1/challenge" in url for url in page.watch.requests) is solves
    assert page.watch.errors == [], page.watch.console
    with env.app.app_context():
        stored = db.session.scalar(select(Comment).where(Comment.body_markdown == text))
        assert stored is not None and stored.author_name == name
