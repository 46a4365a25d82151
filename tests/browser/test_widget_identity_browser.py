"""Reader identity in the embedded widget, in a real browser: publisher single sign-on (the token
travels from the publisher's page to the iframe by postMessage) and comment accounts.

The publisher's page and the comment service run on two origins (see conftest.py); the "publisher
backend" here is the test, which signs tokens with the site's secret the way docs/identity.md shows.
"""
from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from discuss.embed.demo import sign_demo_token
from discuss.extensions import db
from discuss.models import Comment, User
from tests.browser.conftest import CHROMIUM, open_emailed_link, open_thread
from tests.support.api import sign_up
from tests.browser.test_widget_browser import comment, seed_showcase

pytestmark = [pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium"),
              pytest.mark.timeout(120)]

DEMO_SECRET = "demo-sso-secret-for-browser-tests-0123456789abcdef"
MEMBERS_SECRET = "members-only-secret-for-browser-tests-0123456789"


@pytest.fixture(scope="session")
def sso_sites(env):
    """The demo site gets an SSO secret; "members" accepts SSO readers only."""
    from discuss.models.queries import site_by_slug
    from discuss.moderation.sites import create_site

    with env.app.app_context():
        demo = site_by_slug("demo")
        demo.sso_secret = DEMO_SECRET
        members = site_by_slug("members") or create_site("members", "The Riverton Ledger", [env.demo.url])
        members.settings = {**(members.settings or {}), "allowed_identities": ["sso"]}
        members.sso_secret = MEMBERS_SECRET
        db.session.commit()
    return {"demo": DEMO_SECRET, "members": MEMBERS_SECRET}


def publisher_page(env, token: str, reader: str | None = None, **query) -> str:
    """The demo page as the publisher serves it to a signed-in reader (its own login session)."""
    key = f"s{len(env.publisher_sessions)}"
    env.publisher_sessions[key] = (token, reader)
    return env.demo_url(session=key, **query)


def frame_of(page):
    return page.query_selector("iframe[name=discuss-thread]").content_frame()


def stored_token(page) -> str | None:
    return frame_of(page).evaluate("() => localStorage.getItem('discuss.token')")


def api_thread(env, article: str, site: str = "demo") -> list[dict]:
    response = env.client.get("/api/v1/comments", query_string={"site": site, "article": article})
    assert response.status_code == 200
    return response.get_json()["comments"]


def test_sso_on_the_publisher_page_posts_under_the_publishers_user_name(env, new_page, sso_sites, artifacts):
    seed_showcase(env, "sso-showcase")
    token = sign_demo_token(sso_sites["demo"], "ledger-4411", "Daniel Okoye", email="daniel@ledger.example")
    page = new_page()
    frame = open_thread(page, publisher_page(env, token, "Daniel Okoye", article="sso-showcase"))

    expect(frame.locator(".dc-id")).to_contain_text("Commenting as Daniel Okoye, signed in on The Riverton Ledger.")
    expect(frame.get_by_label("Name")).to_have_count(0)  # the publisher vouches for the name
    expect(frame.get_by_role("button", name="Sign out")).to_have_count(0)  # readers sign out on the publisher's site
    # The token crossed by postMessage only: never in a URL the browser loaded.
    assert not [u for u in page.watch.requests if token in u]
    assert token not in page.locator("iframe[name=discuss-thread]").get_attribute("src")
    session = stored_token(page)
    assert session.startswith("drs_")

    frame.get_by_label("Join the discussion").fill("I cycle over it every morning now. **Brilliant** job by the council.")
    frame.get_by_role("button", name="Post comment").click()
    mine = comment(frame, "I cycle over it every morning now.")
    expect(mine.locator(".dc-author")).to_have_text("Daniel Okoye")
    expect(mine.locator(".dc-badge").first).to_have_text("You")
    page.wait_for_timeout(300)  # let the iframe settle to its height
    page.locator("section.comments").screenshot(path=os.path.join(artifacts, "widget-sso.png"))

    # The API shows it under the publisher's user name, tied to an SSO reader of this site.
    posted = [c for c in api_thread(env, "sso-showcase") if "every morning" in (c["html"] or "")]
    assert [c["author"]["name"] for c in posted] == ["Daniel Okoye"]
    with env.app.app_context():
        row = db.session.get(Comment, posted[0]["id"])
        author = db.session.get(User, row.author_id)
        assert (author.kind.value, author.external_id, author.display_name) == ("sso", "ledger-4411", "Daniel Okoye")

    # A reload with the same token keeps the session instead of signing in again.
    frame = open_thread(page, publisher_page(env, token, "Daniel Okoye", article="sso-showcase"))
    expect(frame.locator(".dc-id")).to_contain_text("Commenting as Daniel Okoye")
    assert len([u for u in page.watch.requests if u.endswith("/api/v1/auth/sso")]) == 1
    assert stored_token(page) == session

    # The publisher changes the name it signs: the widget follows.
    renamed = sign_demo_token(sso_sites["demo"], "ledger-4411", "Dan Okoye")
    frame = open_thread(page, publisher_page(env, renamed, "Dan Okoye", article="sso-showcase"))
    # A new SSO exchange runs first (the token changed): allow a loaded CI machine more than 5 s.
    expect(frame.locator(".dc-id")).to_contain_text("Commenting as Dan Okoye", timeout=20_000)
    assert env.client.get("/api/v1/me", headers={"Authorization": f"Bearer {session}"}).status_code == 401

    # Signed out on the publisher's site (no data-sso-token): the widget signs out and revokes its session.
    session = stored_token(page)
    frame = open_thread(page, env.demo_url(article="sso-showcase"))
    expect(frame.get_by_label("Name")).to_be_visible()
    expect(frame.locator(".dc-id")).not_to_contain_text("Commenting as")
    assert env.client.get("/api/v1/me", headers={"Authorization": f"Bearer {session}"}).status_code == 401
    assert not page.watch.errors


def test_host_page_js_call_signs_in_and_out(env, new_page, sso_sites):
    token = sign_demo_token(sso_sites["demo"], "ledger-77", "Jonas Berg")
    page = new_page()
    frame = open_thread(page, env.demo_url(article="sso-js"))
    expect(frame.get_by_label("Name")).to_be_visible()
    page.evaluate("t => window.discussSSO(t)", token)  # e.g. after the page's own login widget
    expect(frame.locator(".dc-id")).to_contain_text("Commenting as Jonas Berg")
    expect(frame.get_by_label("Name")).to_have_count(0)
    page.evaluate("() => window.discussSSO(null)")
    expect(frame.get_by_label("Name")).to_be_visible()

    # Only the parent page may hand over a token: another window's message is ignored.
    page.evaluate("""t => {
        const w = window.open('about:blank');
        w.eval("opener.frames['discuss-thread'].postMessage({type: 'discuss:sso', token: '" + t + "'}, '*')");
    }""", token)
    page.wait_for_timeout(800)
    expect(frame.get_by_label("Name")).to_be_visible()
    assert len([u for u in page.watch.requests if u.endswith("/api/v1/auth/sso")]) == 1


def test_expired_sso_token_is_refused_clearly_and_nobody_posts_as_that_reader(env, new_page, sso_sites):
    # First the reader is signed in with a good token ...
    page = new_page()
    good = sign_demo_token(sso_sites["demo"], "ledger-9001", "Marta Quill")
    frame = open_thread(page, publisher_page(env, good, "Marta Quill", article="sso-expired"))
    expect(frame.locator(".dc-id")).to_contain_text("Commenting as Marta Quill")
    session = stored_token(page)

    # ... then a page arrives with an expired one (a cached page, a stale tab).
    expired = sign_demo_token(sso_sites["demo"], "ledger-9001", "Marta Quill", lifetime=-600)
    frame = open_thread(page, publisher_page(env, expired, "Marta Quill", article="sso-expired"))
    alert = frame.locator(".dc-notice-error")
    expect(alert).to_have_text("Your sign-in from The Riverton Ledger has expired, so you are not signed in here. "
                               "Reload the page to sign in again.")
    expect(alert).to_have_attribute("role", "alert")
    expect(frame.get_by_text("Commenting as Marta Quill")).to_have_count(0)
    expect(frame.get_by_label("Name")).to_be_visible()  # this site also takes guests
    assert frame_of(page).evaluate("() => window.discuss.viewer") is None
    assert env.client.get("/api/v1/me", headers={"Authorization": f"Bearer {session}"}).status_code == 401

    # An SSO-only site with an expired token: a message, and no way to post at all.
    other = new_page()
    expired = sign_demo_token(sso_sites["members"], "ledger-9002", "Nadia Frost", site="members", lifetime=-600)
    frame = open_thread(other, publisher_page(env, expired, None, article="members-expired", site="members"))
    expect(frame.locator(".dc-notice-error")).to_contain_text("has expired")
    expect(frame.get_by_text("Sign in on The Riverton Ledger to join the discussion.")).to_be_visible()
    expect(frame.get_by_label("Join the discussion")).to_have_count(0)
    # The API refuses it too, and no reader was created from it.
    response = env.client.post("/api/v1/auth/sso", json={"site": "members", "token": expired})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "sso_token_expired"
    with env.app.app_context():
        assert db.session.query(User).filter_by(external_id="ledger-9002").count() == 0
    assert not [c for c in api_thread(env, "members-expired", site="members")]


def test_sso_only_site_invites_readers_to_sign_in_on_the_publishers_site(env, new_page, sso_sites, artifacts):
    page = new_page()
    login = env.demo.url + "/login?next=members"
    frame = open_thread(page, env.demo_url(article="members-only", site="members", login=login))
    notice = frame.locator(".dc-signin")
    expect(notice).to_contain_text("Sign in on The Riverton Ledger to join the discussion.")
    expect(frame.get_by_label("Join the discussion")).to_have_count(0)
    expect(frame.get_by_role("button", name="Create account")).to_have_count(0)  # accounts are off here
    iframe = page.locator("iframe[name=discuss-thread]")
    iframe.scroll_into_view_if_needed()
    iframe.screenshot(path=os.path.join(artifacts, "widget-sso-only.png"))
    frame.get_by_role("button", name="Sign in on The Riverton Ledger").click()
    page.wait_for_url(login)  # the publisher's page navigates itself; the sandboxed iframe cannot

    token = sign_demo_token(sso_sites["members"], "ledger-12", "Ola Brandt", site="members")
    page2 = new_page()
    frame = open_thread(page2, publisher_page(env, token, "Ola Brandt", article="members-only", site="members"))
    frame.get_by_label("Join the discussion").fill("Members get to comment first.")
    frame.get_by_role("button", name="Post comment").click()
    expect(comment(frame, "Members get to comment first.").locator(".dc-author")).to_have_text("Ola Brandt")
    assert [c["author"]["name"] for c in api_thread(env, "members-only", site="members")] == ["Ola Brandt"]


def test_account_register_post_sign_out_and_sign_in_again(env, new_page, artifacts, outbox):
    page = new_page()
    frame = open_thread(page, env.demo_url(article="accounts"))
    iframe = page.locator("iframe[name=discuss-thread]")
    iframe.scroll_into_view_if_needed()
    iframe.screenshot(path=os.path.join(artifacts, "widget-guest.png"))  # guest form with Sign in / Create account
    frame.get_by_role("button", name="Create account").click()
    expect(frame.get_by_role("heading", name="Create a comment account")).to_be_visible()
    expect(frame.get_by_label("Display name (shown with your comments)")).to_be_focused()
    frame.get_by_role("button", name="Create account").click()  # empty: told what to do, nothing sent
    expect(frame.locator(".dc-auth .dc-error")).to_have_text("Please fill in every field.")
    frame.get_by_label("Display name (shown with your comments)").fill("Ann Whitlock")
    frame.get_by_label("Email (never shown)").fill("ann.whitlock@example.com")
    frame.get_by_label("Password").fill("short")
    frame.get_by_role("button", name="Create account").click()
    expect(frame.locator(".dc-auth .dc-error")).to_have_text("Please use a password of at least 10 characters.")
    expect(frame.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    expect(frame.get_by_label("Password")).to_be_focused()

    # Start again for the screenshot: the panel as a reader first sees it, filled in.
    frame.get_by_role("button", name="Cancel").click()
    expect(frame.get_by_role("button", name="Sign in")).to_be_focused()
    frame.get_by_role("button", name="Create account").click()
    frame.get_by_label("Display name (shown with your comments)").fill("Ann Whitlock")
    frame.get_by_label("Email (never shown)").fill("ann.whitlock@example.com")
    frame.get_by_label("Password").fill("correct horse battery")
    page.wait_for_timeout(300)
    iframe.screenshot(path=os.path.join(artifacts, "widget-signin.png"))
    frame.get_by_role("button", name="Create account").click()
    # The same answer for every address; the emailed link creates the account, then sign in.
    expect(frame.locator(".dc-auth-note")).to_contain_text("Check your email")
    open_emailed_link(env, outbox, "ann.whitlock@example.com")
    frame.get_by_label("Password").fill("correct horse battery")
    frame.locator(".dc-auth").get_by_role("button", name="Sign in").click()

    expect(frame.locator(".dc-id")).to_contain_text("Commenting as Ann Whitlock.")
    expect(frame.get_by_label("Join the discussion")).to_be_focused()
    expect(frame.get_by_label("Name")).to_have_count(0)
    frame.get_by_label("Join the discussion").fill("Posted from my comment account.")
    frame.get_by_role("button", name="Post comment").click()
    mine = comment(frame, "Posted from my comment account.")
    expect(mine.locator(".dc-author")).to_have_text("Ann Whitlock")
    expect(mine.locator(".dc-badge").first).to_have_text("You")
    page.locator("iframe[name=discuss-thread]").screenshot(path=os.path.join(artifacts, "widget-account.png"))
    session = stored_token(page)
    assert session.startswith("drs_")
    with env.app.app_context():
        user = db.session.query(User).filter_by(email="ann.whitlock@example.com").one()
        assert user.kind.value == "account"

    # Sign out: back to a guest, the session revoked on the server.
    frame.get_by_role("button", name="Sign out").click()
    expect(frame.get_by_label("Name")).to_be_visible()
    expect(frame.get_by_role("button", name="Sign in")).to_be_visible()
    expect(frame.get_by_text("Commenting as")).to_have_count(0)
    assert stored_token(page) is None
    assert env.client.get("/api/v1/me", headers={"Authorization": f"Bearer {session}"}).status_code == 401
    expect(action_edit(mine)).to_have_count(0)  # no longer theirs to edit in this browser

    # Sign in again: a wrong password reads clearly, the right one works.
    frame.get_by_role("button", name="Sign in").click()
    frame.get_by_label("Email (never shown)").fill("ann.whitlock@example.com")
    frame.get_by_label("Password").fill("wrong password here")
    frame.get_by_role("button", name="Sign in").last.click()
    expect(frame.locator(".dc-auth .dc-error")).to_have_text("That email and password don't match an account.")
    frame.get_by_label("Password").fill("correct horse battery")
    frame.locator(".dc-auth").get_by_role("button", name="Sign in").click()
    expect(frame.locator(".dc-id")).to_contain_text("Commenting as Ann Whitlock.")
    expect(action_edit(comment(frame, "Posted from my comment account."))).to_be_visible()
    assert not page.watch.errors


def test_guest_keeps_their_guest_identity_after_signing_out(env, new_page, outbox):
    page = new_page()
    frame = open_thread(page, env.demo_url(article="guest-then-account"))
    frame.get_by_label("Name").fill("Wren")
    frame.get_by_label("Join the discussion").fill("Guest comment first.")
    frame.get_by_role("button", name="Post comment").click()
    expect(action_edit(comment(frame, "Guest comment first."))).to_be_visible()
    frame.get_by_role("button", name="Create account").click()
    frame.get_by_label("Display name (shown with your comments)").fill("Wren Ashby")
    frame.get_by_label("Email (never shown)").fill("wren@example.com")
    frame.get_by_label("Password").fill("another long password")
    frame.locator(".dc-auth").get_by_role("button", name="Create account").click()
    expect(frame.locator(".dc-auth-note")).to_contain_text("Check your email")
    open_emailed_link(env, outbox, "wren@example.com")
    frame.get_by_label("Password").fill("another long password")
    frame.locator(".dc-auth").get_by_role("button", name="Sign in").click()
    expect(frame.locator(".dc-id")).to_contain_text("Commenting as Wren Ashby.")
    frame.get_by_role("button", name="Sign out").click()
    expect(frame.get_by_label("Name")).to_have_value("Wren")
    expect(action_edit(comment(frame, "Guest comment first."))).to_be_visible()


def action_edit(item):
    return item.locator(":scope > article .dc-actions").get_by_role("button", name="Edit", exact=True)


def test_account_panel_reply_emails_download_and_delete(env, new_page, artifacts):
    import json

    with env.app.app_context():
        sign_up(env.client, email="iris.vale@example.com", password="a long enough password", name="Iris Vale")
        user_id = db.session.query(User).filter_by(email="iris.vale@example.com").one().id

    page = new_page()
    frame = open_thread(page, env.demo_url(article="account-panel"))
    frame.get_by_role("button", name="Sign in").click()
    frame.get_by_label("Email (never shown)").fill("iris.vale@example.com")
    frame.get_by_label("Password").fill("a long enough password")
    frame.locator(".dc-auth").get_by_role("button", name="Sign in").click()
    expect(frame.locator(".dc-id")).to_contain_text("Commenting as Iris Vale.")
    frame.get_by_label("Join the discussion").fill("A comment I will want a copy of.")
    frame.get_by_role("button", name="Post comment").click()
    expect(comment(frame, "A comment I will want a copy of.").locator(".dc-author")).to_have_text("Iris Vale")

    # Open the panel from the "Commenting as" line: focus moves to its heading.
    frame.get_by_role("button", name="My account").click()
    panel = frame.get_by_role("region", name="My account")
    expect(panel.get_by_role("heading", name="My account")).to_be_focused()
    expect(panel.get_by_role("button", name="Resend verification email")).to_have_count(0)  # already confirmed

    # Reply emails on: stored on the server.
    toggle = panel.get_by_label("Email me when someone replies")
    expect(toggle).to_be_enabled()
    expect(toggle).not_to_be_checked()
    toggle.check()
    expect(panel.get_by_role("status")).to_have_text("We will email you when someone replies to you.")
    with env.app.app_context():
        assert db.session.get(User, user_id).notify_replies is True

    # Download: a real file download from the sandboxed iframe (Blob URL, no CSP change needed).
    with page.expect_download() as info:
        panel.get_by_role("button", name="Download my data").click()
    download = info.value
    assert download.suggested_filename == "my-comments.json"
    exported = json.loads(open(download.path(), encoding="utf-8").read())
    assert exported["profile"]["email"] == "iris.vale@example.com" and exported["profile"]["notify_replies"] is True
    assert [c["body_markdown"] for c in exported["comments"]] == ["A comment I will want a copy of."]
    expect(panel.get_by_role("status")).to_have_text("Your data was downloaded as my-comments.json.")

    # Delete: an in-page confirmation first, saying what happens to the comments.
    panel.get_by_role("button", name="Delete my account…").click()
    confirm = panel.get_by_role("group", name="Delete your account? This cannot be undone.")
    expect(confirm).to_contain_text("“deleted user”")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    page.wait_for_timeout(300)
    iframe = page.locator("iframe[name=discuss-thread]")
    iframe.scroll_into_view_if_needed()
    iframe.screenshot(path=os.path.join(artifacts, "widget-account-panel.png"))
    session = stored_token(page)
    confirm.get_by_role("button", name="Yes, delete my account").click()

    # Back to a guest; the account is emptied and its comment kept as "deleted user" (default: anonymize).
    expect(frame.get_by_label("Name")).to_be_visible()
    expect(frame.get_by_text("Commenting as")).to_have_count(0)
    expect(frame.get_by_role("button", name="Sign in")).to_be_visible()
    assert stored_token(page) is None
    assert env.client.get("/api/v1/me", headers={"Authorization": f"Bearer {session}"}).status_code == 401
    with env.app.app_context():
        user = db.session.get(User, user_id)
        assert (user.display_name, user.email, user.password_hash) == ("deleted user", None, None)
        assert user.is_active_account is False and user.notify_replies is False
        row = db.session.query(Comment).filter_by(author_id=user_id).one()
        assert (row.author_name, row.status.value) == ("deleted user", "published")
    expect(comment(frame, "A comment I will want a copy of.").locator(".dc-author")).to_have_text("deleted user")
    assert not page.watch.errors
