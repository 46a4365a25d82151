"""Reader accounts in the widget, end to end with the emails they depend on (issues 15 and 18):
signing up answers "check your email" for a new and a taken address alike, and the emailed link
creates the account; a forgotten password is reset on the widget's own screen, opened from the
link in the reset email, which leads back to the article."""
from __future__ import annotations

import os
import re

import pytest

from tests.browser.conftest import CHROMIUM, open_thread
from tests.support.api import sign_up

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian chromium")


def sign_up_in_widget(frame, name: str, email: str, password: str) -> None:
    frame.locator("button.dc-link", has_text="Create account").first.click()
    frame.locator("input[name=display_name]").fill(name)
    frame.locator("input[name=email]").fill(email)
    frame.locator("input[name=password]").fill(password)
    frame.locator(".dc-auth button[type=submit]").click()


def test_signing_up_says_check_your_email_for_new_and_taken_addresses_and_the_link_creates_the_account(
        env, new_page, outbox, artifacts):
    with env.app.app_context():
        sign_up(env.client, email="taken.reader@example.com", password="the owner's passphrase", name="Owner")
    page = new_page(width=420)
    frame = open_thread(page, env.demo_url("signup-story"))
    sign_up_in_widget(frame, "Nell Newcomer", "nell@example.com", "nell's long passphrase")
    note = frame.locator(".dc-auth .dc-auth-note")
    note.wait_for()
    said_to_new = note.inner_text()
    assert "Check your email" in said_to_new
    assert frame.locator("input[name=email]").input_value() == "nell@example.com"  # the sign-in form, prefilled
    page.locator("iframe[name=discuss-thread]").screenshot(path=os.path.join(artifacts, "widget-signup-check-email.png"))

    other = new_page(width=420)
    other_frame = open_thread(other, env.demo_url("signup-story"))
    sign_up_in_widget(other_frame, "Mallory", "taken.reader@example.com", "someone else's passphrase")
    other_frame.locator(".dc-auth .dc-auth-note").wait_for()
    assert other_frame.locator(".dc-auth .dc-auth-note").inner_text() == said_to_new  # nothing told apart

    to = {m.to: m for m in outbox}
    assert set(to) == {"nell@example.com", "taken.reader@example.com"}
    assert to["taken.reader@example.com"].template == "register_existing"
    link = to["nell@example.com"].context["link"]
    assert link.startswith(env.service.url + "/api/v1/auth/register/confirm?token=")
    opened = new_page(width=420)
    opened.goto(link)
    assert "Your account is ready" in opened.content()

    frame.locator("input[name=password]").fill("nell's long passphrase")
    frame.locator(".dc-auth button[type=submit]").click()
    frame.locator(".dc-id strong", has_text="Nell Newcomer").wait_for()
    frame.locator("textarea").fill("My first comment with an account.")
    frame.locator("button[type=submit]", has_text="Post").click()
    frame.locator(".dc-comment", has_text="My first comment with an account.").wait_for()
    page.locator("iframe[name=discuss-thread]").screenshot(path=os.path.join(artifacts, "widget-signup-signed-in.png"))


def test_a_forgotten_password_is_reset_in_the_widget_from_the_emailed_link(env, new_page, outbox, artifacts):
    with env.app.app_context():
        sign_up(env.client, email="forgetful@example.com", password="original passphrase", name="Forgetful Fran")
    page = new_page(width=420)
    frame = open_thread(page, env.demo_url("reset-story"))
    frame.locator("button.dc-link", has_text="Sign in").first.click()
    frame.locator("button.dc-forgot").click()
    frame.locator("input[name=email]").fill("forgetful@example.com")
    frame.locator("button", has_text="Email me a link").click()
    frame.locator(".dc-auth p[role=status]:has-text('If an account uses that address')").wait_for()
    page.locator("iframe[name=discuss-thread]").screenshot(path=os.path.join(artifacts, "widget-forgot-password.png"))

    [message] = outbox
    link = message.context["link"]
    assert re.match(re.escape(env.demo.url) + r"/[^#]*#discuss-reset=[\w.\-]+$", link), link  # back to the article
    reader = new_page(width=420)
    reset_frame = open_thread(reader, link)
    form = reset_frame.locator("form.dc-reset")
    form.wait_for()
    assert "#discuss-reset" not in reader.url                    # taken out of the address bar at once
    form.locator("input[name=password]").fill("short")
    form.locator("button[type=submit]").click()
    form.locator(".dc-error", has_text="at least 10").wait_for()
    form.locator("input[name=password]").fill("a brand new passphrase")
    reader.locator("iframe[name=discuss-thread]").screenshot(path=os.path.join(artifacts, "widget-reset-password.png"))
    form.locator("button[type=submit]").click()
    note = reset_frame.locator(".dc-auth .dc-auth-note", has_text="Password changed")
    note.wait_for()
    reset_frame.locator("input[name=email]").fill("forgetful@example.com")
    reset_frame.locator("input[name=password]").fill("a brand new passphrase")
    reset_frame.locator(".dc-auth button[type=submit]").click()
    reset_frame.locator(".dc-id strong", has_text="Forgetful Fran").wait_for()
    reader.locator("iframe[name=discuss-thread]").screenshot(path=os.path.join(artifacts, "widget-reset-signed-in.png"))
    assert env.client.post("/api/v1/auth/login", json={"email": "forgetful@example.com",
                                                       "password": "original passphrase"}).status_code == 401
    again = new_page(width=420)                                    # the link worked once
    again_frame = open_thread(again, link)
    again_frame.locator("form.dc-reset input[name=password]").fill("yet another passphrase")
    again_frame.locator("form.dc-reset button[type=submit]").click()
    again_frame.locator("form.dc-reset .dc-error", has_text="expired or was already used").wait_for()
