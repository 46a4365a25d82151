"""Keyboard only (page.keyboard, no mouse) and what a screen reader hears: a reader posts, replies,
likes, reports and signs in; a moderator signs in and triages with j/k/a/r. Every control the
keyboard lands on shows a focus ring. The widget's polite live region says "posted" / "held for
review" and reads out the toxicity nudge; errors go to role=alert regions."""
from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from discuss.extensions import db
from discuss.models import Comment, CommentStatus, Report, Role
from tests.browser.conftest import CHROMIUM, open_thread
from tests.browser.keyboard import focused, label_is, tab_to, text_is
from tests.dashboard_support import PASSWORD, make_staff
from tests.factories import make_comment, make_thread, make_user

pytestmark = [pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium"),
              pytest.mark.timeout(120)]

POSTED = "Your comment was posted."
HELD = "Thanks! Your comment will appear once a moderator has reviewed it."


def live_region(frame):
    """The widget's polite status region (visually hidden), where it announces what happened."""
    return frame.locator(".dc-sr[role=status]")


def widget(page, env, article: str):
    locator = open_thread(page, env.demo_url(article=article))
    return locator, page.frame(name="discuss-thread")


def test_reader_posts_likes_replies_and_reports_with_the_keyboard_only(env, new_page):
    tomasz = env.post("kbd-reader", "The new deck is lovely to cycle on.", name="Tomasz")["comment"]["id"]
    page = new_page()
    frame, doc = widget(page, env, "kbd-reader")

    tab_to(page, doc, label_is("Join the discussion"))  # from the top of the publisher's page
    page.keyboard.type("Typed with the keyboard only.")
    tab_to(page, doc, label_is("Name"))
    page.keyboard.type("Kim")
    tab_to(page, doc, text_is("Post comment"))
    page.keyboard.press("Enter")
    expect(frame.locator(".dc-item", has_text="Typed with the keyboard only.")).to_be_visible()
    expect(live_region(frame)).to_have_text(POSTED)
    assert focused(doc)["tag"] == "article"  # focus moves to what was posted

    tab_to(page, doc, lambda i: i["text"].startswith("Like this comment by Tomasz"), backwards=True)
    page.keyboard.press("Space")
    like = frame.locator(f"#c-{tomasz} > article .dc-like")
    expect(like).to_have_attribute("aria-pressed", "true")

    tab_to(page, doc, text_is("Reply"))
    page.keyboard.press("Enter")
    assert focused(doc)["label"] == "Your reply to Tomasz"
    page.keyboard.type("Agreed, and the lights at night help.")
    tab_to(page, doc, text_is("Post reply"))
    page.keyboard.press("Enter")
    expect(frame.locator(f"#r-{tomasz} .dc-body", has_text="the lights at night")).to_be_visible()
    expect(live_region(frame)).to_have_text(POSTED)

    tab_to(page, doc, text_is("Report"), backwards=True)  # Tomasz's, just above the reply
    page.keyboard.press("Enter")
    assert focused(doc)["label"] == "Spam or advertising"  # the first reason, already chosen
    page.keyboard.press("ArrowDown")  # radios: arrows choose, Tab leaves the group
    expect(frame.get_by_label("Abuse or harassment")).to_be_checked()
    tab_to(page, doc, label_is("Anything else the moderators should know? (optional)"))
    page.keyboard.type("Sent from the keyboard")
    tab_to(page, doc, text_is("Send report"))
    page.keyboard.press("Enter")
    expect(frame.get_by_text("Thanks. A moderator will review this comment.")).to_be_focused()
    with env.app.app_context():
        report = db.session.query(Report).filter_by(comment_id=tomasz).one()
        assert (report.reason.value, report.note) == ("abuse", "Sent from the keyboard")
        assert db.session.get(Comment, tomasz).likes == 1


def test_reader_signs_in_with_the_keyboard_only(env, new_page):
    with env.app.app_context():  # an account as a reader makes one: sign up, then the emailed link
        from discuss.identity import registration

        registration.confirm(registration.register("kbd.reader@example.com", "a long enough password",
                                                   "Keyboard Reader").token)
    page = new_page()
    frame, doc = widget(page, env, "kbd-signin")
    tab_to(page, doc, text_is("Sign in"))
    page.keyboard.press("Enter")
    assert focused(doc)["label"] == "Email (never shown)"
    page.keyboard.type("kbd.reader@example.com")
    page.keyboard.press("Tab")
    assert focused(doc)["label"] == "Password"
    page.keyboard.type("a long enough password")
    page.keyboard.press("Enter")
    expect(frame.locator(".dc-id")).to_contain_text("Commenting as Keyboard Reader.")
    expect(live_region(frame)).to_have_text("Signed in as Keyboard Reader.")
    info = focused(doc)
    assert info["label"] == "Join the discussion" and info["ring"]


def test_live_regions_announce_the_nudge_held_comments_and_errors(env, new_page):
    page = new_page()
    frame, doc = widget(page, env, "kbd-announce")
    # Errors: the form's role=alert region says what to fix, and focus goes to the first field.
    tab_to(page, doc, text_is("Post comment"))
    page.keyboard.press("Enter")
    alert = frame.locator(".dc-form-compose [role=alert]")
    expect(alert).to_have_text("Please write a comment first. Please enter the name to show with your comment.")
    assert focused(doc)["label"] == "Join the discussion"

    page.keyboard.type("Surely an idiot approved this detour.")
    tab_to(page, doc, label_is("Name"))
    page.keyboard.type("Grumpy")
    tab_to(page, doc, text_is("Post comment"))
    page.keyboard.press("Enter")
    expect(frame.get_by_role("alertdialog")).to_be_visible()
    expect(live_region(frame)).to_contain_text("Are you sure? Your comment may come across as hurtful")
    assert focused(doc)["text"] == "Edit my comment"
    page.keyboard.press("Tab")
    assert focused(doc)["text"] == "Post anyway"
    page.keyboard.press("Enter")
    expect(frame.locator(".dc-badge-pending")).to_have_text("Awaiting moderation")
    expect(live_region(frame)).to_have_text(HELD)

    # A failed action (the network drops) is announced too.
    env.post("kbd-announce", "Something to like.", name="Owen")
    frame, doc = widget(page, env, "kbd-announce")
    page.route("**/api/v1/comments/*/votes", lambda route: route.abort())
    tab_to(page, doc, lambda i: i["text"].startswith("Like this comment by Owen"))
    page.keyboard.press("Enter")
    expect(live_region(frame)).to_have_text(
        "We couldn't reach the comment service. Check your connection and try again.")


@pytest.fixture
def triage_site(env):
    """A site of its own with three held comments, and its moderator."""
    with env.app.app_context():
        from discuss.moderation.sites import create_site

        site = create_site("kbd-news", "Keyboard News", [env.demo.url])
        thread = make_thread(site, "kbd-triage")
        held = [make_comment(thread, make_user(f"Reader {n}"), f"Held comment number {n}.",
                             status=CommentStatus.PENDING, reasons=["premoderation:new_commenter"]).id
                for n in (1, 2, 3)]
        make_staff("kbd-mod@ledger.example", Role.MODERATOR, [site])
    return held


def test_moderator_signs_in_and_triages_with_j_k_a_r(env, new_page, triage_site):
    first, second, third = triage_site
    page = new_page(width=1280)
    page.goto(env.service.url + "/auth/login")
    top = page.main_frame
    assert focused(top)["id"] == "email"  # autofocus
    page.keyboard.type("kbd-mod@ledger.example")
    tab_to(page, top, lambda i: i["id"] == "password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/mod/queue/pending")

    page.goto(env.service.url + "/mod/queue/pending?site=kbd-news&sort=oldest")
    expect(page.locator(f"#c{first}")).to_have_class(re.compile(r"is-selected"))
    page.keyboard.press("j")
    info = focused(top)
    assert info["id"] == f"c{second}" and info["ring"]
    page.keyboard.press("k")
    assert focused(top)["id"] == f"c{first}"
    page.keyboard.press("a")
    expect(page.locator(f"#c{first}")).to_have_class(re.compile(r"is-done"))
    expect(page.locator("#mod-live[role=status]")).to_have_text(f"Comment #{first}: published")
    expect(page.locator(f"#c{second}")).to_have_class(re.compile(r"is-selected"))
    info = focused(top)
    assert info["id"] == f"c{second}" and info["ring"]
    page.keyboard.press("r")
    expect(page.locator(f"#c{second}")).to_have_class(re.compile(r"is-done"))
    assert focused(top)["id"] == f"c{third}"

    # Every action button is reachable with Tab and shows its ring.
    tab_to(page, top, lambda i: i["text"].startswith("✓ Approve"))
    with env.app.app_context():
        assert db.session.get(Comment, first).status == CommentStatus.PUBLISHED
        assert db.session.get(Comment, second).status == CommentStatus.REJECTED
        assert db.session.get(Comment, third).status == CommentStatus.PENDING
