"""Proof of work (issue 15): on a site that asks for it, the widget loads the vendored ALTCHA
widget only once the reader starts writing, solves the challenge in a worker, and posts."""
from __future__ import annotations

import os

from sqlalchemy import select

from discuss.extensions import db
from discuss.models import Comment, Site
from tests.browser.conftest import ARTIFACTS, open_thread


def test_a_guest_posts_through_altcha(env, new_page):
    env.app.config["ALTCHA_COST"] = 50  # a quick puzzle: the test is about the plumbing
    with env.app.app_context():
        site = db.session.scalar(select(Site).where(Site.slug == "demo"))
        site.settings = {**(site.settings or {}), "proof_of_work": "everyone"}
        db.session.commit()
    try:
        page = new_page()
        frame = open_thread(page, env.demo_url(article="pow"))
        assert not any("altcha" in url for url in page.watch.requests)  # not on first load
        frame.get_by_label("Name").fill("Pia")
        frame.get_by_label("Join the discussion").fill("Proof that I am a patient browser.")
        frame.get_by_role("button", name="Post comment").click()
        frame.locator("article.dc-comment", has_text="Proof that I am a patient browser.").wait_for(timeout=30_000)
        os.makedirs(ARTIFACTS, exist_ok=True)
        page.screenshot(path=os.path.join(ARTIFACTS, "widget_proof_of_work.png"))
        assert any(url.endswith("altcha.min.js") for url in page.watch.requests)
        assert any("/api/v1/challenge" in url for url in page.watch.requests)
        assert page.watch.errors == [], page.watch.console
        with env.app.app_context():
            stored = db.session.scalar(select(Comment).where(Comment.author_name == "Pia"))
            assert stored is not None and stored.body_markdown == "Proof that I am a patient browser."
    finally:
        env.app.config["ALTCHA_COST"] = 300
        with env.app.app_context():
            site = db.session.scalar(select(Site).where(Site.slug == "demo"))
            site.settings = {k: v for k, v in (site.settings or {}).items() if k != "proof_of_work"}
            db.session.commit()
