"""The embedded widget in a real browser, with the publisher page and the comment service on
two different origins (see conftest.py)."""
from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from discuss.extensions import db
from discuss.models import Comment, CommentStatus, Report
from tests.browser.conftest import ARTIFACTS, CHROMIUM, open_thread

pytestmark = [pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium"),
              pytest.mark.timeout(120)]


def comment(frame, text: str):
    """The innermost comment item whose body contains text."""
    return frame.locator(".dc-item", has=frame.locator(".dc-body", has_text=text)).last


def action(item, name: str):
    """A button in this comment's own action bar (not in its replies)."""
    return item.locator(":scope > article .dc-actions").get_by_role("button", name=name, exact=True)


def test_empty_state_post_reply_edit_delete(env, new_page):
    page = new_page()
    frame = open_thread(page, env.demo_url(article="flow"))
    expect(frame.get_by_text("No comments yet. Start the conversation.")).to_be_visible()
    iframe = page.locator("iframe[name=discuss-thread]")
    height_before = iframe.bounding_box()["height"]

    frame.get_by_label("Name").fill("Maren")
    frame.get_by_label("Join the discussion").fill("Great news for **cyclists** on the east bank.")
    expect(frame.locator(".dc-preview strong")).to_have_text("cyclists")  # live preview, server-rendered
    frame.get_by_text("Formatting help").click()
    expect(frame.get_by_text("You can format your comment with Markdown:")).to_be_visible()
    frame.locator(".dc-compose").screenshot(path=os.path.join(ARTIFACTS, "widget-compose-preview.png"))
    frame.get_by_role("button", name="Post comment").click()
    first = comment(frame, "Great news for")
    expect(first.locator(".dc-body strong")).to_have_text("cyclists")
    expect(first.locator(".dc-author")).to_have_text("Maren")
    expect(first.locator(".dc-time")).to_have_text("just now")
    assert re.search(r"\d{4}", first.locator(".dc-time").get_attribute("title"))  # exact time on hover
    expect(frame.locator(".dc-count")).to_have_text("1 comment")
    expect(frame.get_by_text("No comments yet.")).to_have_count(0)
    # The iframe grew to fit its content (postMessage from the comment host's origin).
    page.wait_for_function("h => document.querySelector('iframe[name=discuss-thread]').offsetHeight > h",
                           arg=height_before)

    action(first, "Reply").click()
    frame.get_by_label("Your reply to Maren").fill("Agreed, the detour was miserable.")
    frame.get_by_role("button", name="Post reply").click()
    reply = comment(frame, "the detour was miserable")
    expect(reply).to_be_visible()
    assert reply.evaluate("el => el.parentElement.classList.contains('dc-replies')")
    expect(frame.locator(".dc-count")).to_have_text("2 comments")

    # Collapse and expand the replies.
    toggle = first.locator(":scope > .dc-toggle")
    expect(toggle).to_have_text("Hide 1 reply")
    toggle.click()
    expect(reply).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(reply).to_be_visible()

    # Edit the first comment.
    action(first, "Edit").click()
    box = frame.get_by_label("Edit your comment")
    expect(box).to_have_value("Great news for **cyclists** on the east bank.")
    box.fill("Great news for cyclists on the east *and* west banks.")
    frame.get_by_role("button", name="Save changes").click()
    edited = comment(frame, "east and west banks")
    expect(edited.locator(":scope > article .dc-edited")).to_be_visible()

    # Delete the reply, then the parent (which has no replies left).
    action(reply, "Delete").click()
    frame.get_by_role("button", name="Yes, delete").click()
    expect(frame.get_by_text("the detour was miserable")).to_have_count(0)
    expect(frame.locator(".dc-count")).to_have_text("1 comment")

    # A fresh load shows the same state the API holds.
    frame = open_thread(page, env.demo_url(article="flow"))
    expect(comment(frame, "east and west banks")).to_be_visible()
    expect(frame.get_by_text("the detour was miserable")).to_have_count(0)
    assert not page.watch.errors


def test_guest_form_errors_are_clear(env, new_page):
    page = new_page()
    frame = open_thread(page, env.demo_url(article="errors"))
    frame.get_by_role("button", name="Post comment").click()
    expect(frame.get_by_role("alert").first).to_contain_text("Please write a comment first.")
    frame.get_by_label("Join the discussion").fill("x" * 10_050)
    frame.get_by_label("Name").fill("Long")
    frame.get_by_role("button", name="Post comment").click()
    expect(frame.locator(".dc-error").first).to_contain_text("too long")

    with env.app.app_context():
        from discuss.models.queries import find_thread, site_by_slug, touch_thread

        env.post("closed", "Before closing")
        thread = find_thread(site_by_slug("demo").id, "closed")
        thread.is_closed = True
        touch_thread(thread.id)
        db.session.commit()
    frame = open_thread(page, env.demo_url(article="closed"))
    expect(frame.get_by_text("This discussion is closed to new comments.")).to_be_visible()
    expect(frame.get_by_role("button", name="Post comment")).to_have_count(0)
    expect(frame.get_by_role("button", name="Reply")).to_have_count(0)


def test_like_and_report(env, new_page):
    posted = env.post("likes", "The bearing was cast in Sheffield, apparently.", name="Tomasz")
    cid = posted["comment"]["id"]
    page = new_page()
    frame = open_thread(page, env.demo_url(article="likes"))
    item = comment(frame, "cast in Sheffield")
    like = item.locator(".dc-like")
    expect(like).to_have_attribute("aria-pressed", "false")
    like.click()
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(like.locator(".dc-like-n")).to_have_text("1")

    action(item, "Report").click()
    frame.get_by_label("Spam or advertising").check()
    frame.get_by_label("Anything else the moderators should know? (optional)").fill("Looks like an ad")
    frame.get_by_role("button", name="Send report").click()
    expect(frame.get_by_text("Thanks. A moderator will review this comment.")).to_be_visible()
    expect(action(item, "Reported")).to_be_disabled()

    # Liking minted a guest identity; the reader can still choose the name they post under.
    expect(frame.get_by_label("Name")).to_be_visible()
    frame = open_thread(page, env.demo_url(article="likes"))  # state survives a reload
    expect(comment(frame, "cast in Sheffield").locator(".dc-like")).to_have_attribute("aria-pressed", "true")
    expect(comment(frame, "cast in Sheffield").locator(".dc-like-n")).to_have_text("1")
    with env.app.app_context():
        assert db.session.get(Comment, cid).likes == 1
        reports = db.session.query(Report).filter_by(comment_id=cid).all()
        assert [(r.reason.value, r.note) for r in reports] == [("spam", "Looks like an ad")]


def test_toxicity_nudge_then_held_comment_only_visible_to_author(env, new_page, artifacts):
    page = new_page()
    frame = open_thread(page, env.demo_url(article="nudge"))
    frame.get_by_label("Name").fill("Grumpy")
    frame.get_by_label("Join the discussion").fill("Only an idiot would ride over that bridge.")
    frame.get_by_role("button", name="Post comment").click()
    nudge = frame.get_by_role("alertdialog")
    expect(nudge).to_contain_text("Are you sure?")
    expect(frame.get_by_role("button", name="Edit my comment")).to_be_focused()
    frame.locator("#discuss").screenshot(path=os.path.join(artifacts, "widget-nudge.png"))

    # "Edit my comment" goes back to the text; "Post anyway" sends it for review.
    frame.get_by_role("button", name="Edit my comment").click()
    expect(nudge).to_be_hidden()
    expect(frame.get_by_label("Join the discussion")).to_be_focused()
    frame.get_by_role("button", name="Post comment").click()
    expect(nudge).to_be_visible()
    frame.get_by_role("button", name="Post anyway").click()
    held = comment(frame, "Only an idiot")
    expect(held.locator(".dc-badge-pending")).to_have_text("Awaiting moderation")
    expect(held.locator(".dc-pending-note")).to_be_visible()
    expect(frame.locator(".dc-count")).to_have_text("")  # held comments are not counted
    frame.locator("#discuss").screenshot(path=os.path.join(artifacts, "widget-held.png"))

    # Reloading keeps it for its author (bearer token in the iframe's storage) ...
    frame = open_thread(page, env.demo_url(article="nudge"))
    expect(comment(frame, "Only an idiot").locator(".dc-badge-pending")).to_be_visible()
    # ... while a second reader sees an empty thread.
    other = new_page()
    frame2 = open_thread(other, env.demo_url(article="nudge"))
    expect(frame2.get_by_text("No comments yet. Start the conversation.")).to_be_visible()
    expect(frame2.get_by_text("Only an idiot")).to_have_count(0)
    with env.app.app_context():
        row = db.session.query(Comment).filter(Comment.body_markdown.like("Only an idiot%")).one()
        assert row.status == CommentStatus.PENDING


def test_load_more_on_long_thread(env, new_page):
    for i in range(60):
        env.post("long", f"Numbered comment {i:02d}", name=f"Reader {i}")
    page = new_page()
    frame = open_thread(page, env.demo_url(article="long"))
    expect(frame.locator(".dc-count")).to_have_text("60 comments")
    expect(frame.locator(".dc-top > .dc-item")).to_have_count(50)
    frame.get_by_role("button", name="Load more comments").click()
    expect(frame.locator(".dc-top > .dc-item")).to_have_count(60)
    expect(frame.get_by_role("button", name="Load more comments")).to_have_count(0)
    texts = frame.locator(".dc-top > .dc-item > article .dc-body").all_text_contents()
    assert texts == [f"Numbered comment {i:02d}" for i in range(60)]
    # Sorting re-reads the thread from the API.
    frame.get_by_label("Sort by").select_option("newest")
    expect(frame.locator(".dc-top > .dc-item > article .dc-body").first).to_have_text("Numbered comment 59")


def test_related_articles_show_live_counts(env, new_page):
    from discuss.embed.demo import RELATED

    first, second = RELATED[0][0], RELATED[1][0]
    env.post(first, "One")
    env.post(first, "Two")
    env.post(second, "Three")
    page = new_page()
    page.goto(env.demo_url(article="counts"))
    counts = page.locator("[data-discuss-count]")
    expect(counts.nth(0)).to_have_text("2 comments")
    expect(counts.nth(1)).to_have_text("1 comment")
    expect(counts.nth(2)).to_have_text("No comments")
    count_calls = [u for u in page.watch.requests if "/api/v1/counts?" in u]
    assert len(count_calls) == 1  # one batched request for the whole list


XSS_PAYLOADS = [
    "<script>window.parent.postMessage('xss','*');alert('xss')</script>",
    "<img src=x onerror=\"alert('xss')\">",
    "[click me](javascript:alert('xss'))",
    "<a href=\"javascript:alert('xss')\">link</a>",
    "<svg onload=alert('xss')></svg>",
    "\"><script>alert('xss')</script>",
    "<iframe src=\"http://evil.example/\"></iframe>",
    "![pixel](http://tracker.example/pixel.png)",
    "<style>body{display:none}</style><b style=\"background:url(http://tracker.example/s)\">x</b>",
    "`<script>alert('xss')</script>` and <details open ontoggle=alert('xss')>",
    "<form action=\"http://evil.example/\"><button>Win</button></form>",
    "[ok](https://example.com/\" onmouseover=\"alert('xss'))",
]


def test_stored_xss_payloads_do_not_run(env, new_page):
    for i, payload in enumerate(XSS_PAYLOADS):
        env.post("xss", payload, name=f"<img src=x onerror=alert('name{i}')>")
    page = new_page()
    page.add_init_script("""
        window.__xss = [];
        for (const fn of ['alert', 'confirm', 'prompt']) {
          window[fn] = (...a) => { window.__xss.push(fn + ':' + a.join(',')); };
        }
        window.addEventListener('message', (e) => { if (e.data === 'xss') window.__xss.push('message'); });
    """)
    frame = open_thread(page, env.demo_url(article="xss"))
    expect(frame.locator(".dc-top > .dc-item")).to_have_count(len(XSS_PAYLOADS))
    # Hover and click what a reader might touch.
    for link in frame.locator(".dc-body a").all():
        link.hover()
    page.wait_for_timeout(500)

    hits = page.evaluate("window.__xss")
    frame_el = page.query_selector("iframe[name=discuss-thread]").content_frame()
    hits += frame_el.evaluate("window.__xss")
    assert hits == []
    dom = frame_el.evaluate("""() => {
        const found = [];
        for (const el of document.querySelectorAll('.dc-list *')) {
          if (['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED', 'STYLE', 'FORM', 'SVG', 'IMG'].includes(el.tagName.toUpperCase())) found.push(el.tagName);
          for (const a of el.attributes) {
            if (a.name.startsWith('on') || a.name === 'style') found.push(el.tagName + '@' + a.name);
            if (a.name === 'href' && !/^(https?:|mailto:)/i.test(a.value)) found.push('href:' + a.value);
          }
        }
        return found;
    }""")
    assert dom == []
    allowed = (env.demo.url, env.service.url, "data:")
    outbound = [u for u in page.watch.requests if not u.startswith(allowed)]
    assert outbound == []
    # Nothing was even attempted: no CSP violation means the sanitizers, not just CSP, held.
    assert not [m for m in page.watch.console if "xss" in m.lower() or "Content Security Policy" in m]
    assert not page.watch.errors
    names = frame.locator(".dc-author").all_text_contents()
    assert names[0] == "<img src=x onerror=alert('name0')>"  # shown as text, not markup


def test_frame_refused_on_origin_the_site_did_not_allow(env, new_page):
    """localhost:<port> is another origin than 127.0.0.1:<port>: the site never allowed it."""
    page = new_page()
    url = env.demo_url(article="flow").replace("127.0.0.1", "localhost")
    page.goto(url)
    page.wait_for_selector("iframe[name=discuss-thread]")
    page.wait_for_timeout(1000)
    child = page.query_selector("iframe[name=discuss-thread]").content_frame()
    assert child is None or child.query_selector("#discuss") is None
    assert any("frame-ancestors" in m for m in page.watch.console)


def seed_showcase(env, article: str) -> None:
    a = env.post(article, "Finally. I've been taking the long way round over the bypass for two years, "
                          "which adds **twenty minutes** to my commute each way.", name="Priya Raman")
    b = env.post(article, "Does anyone know if the bridge will still open for the tall ships in summer? "
                          "The article says twice a day but not *when*.", name="Owen Fletcher")
    env.post(article, "Same here. The market quarter should see a lot more foot traffic too.",
             name="Hannah Cole", parent_id=a["comment"]["id"])
    c = env.post(article, "10:00 and 16:00 according to the harbour master's notice at the quay.",
                 name="Tomasz Wrenn", parent_id=b["comment"]["id"])
    env.post(article, "Thanks, that's really useful.", name="Owen Fletcher", parent_id=c["comment"]["id"])
    env.post(article, "Shame about the cost overrun, but at least it was a heritage grant and not council "
                      "tax.\n\n> The £4.2m project came in £300,000 over budget\n\nStill cheaper than a new bridge.",
             name="Ines Okafor")
    with env.app.app_context():
        first = db.session.get(Comment, a["comment"]["id"])
        first.likes = 12
        db.session.commit()


def test_screenshots_light_dark_and_narrow(env, new_page, artifacts):
    seed_showcase(env, "showcase")
    for name, width, scheme in (("light", 1200, "light"), ("dark", 1200, "dark"), ("320", 320, "light")):
        page = new_page(width=width, height=900, color_scheme=scheme)
        frame = open_thread(page, env.demo_url(article="showcase"))
        expect(frame.locator(".dc-top > .dc-item")).to_have_count(3)
        if name == "light":
            action(comment(frame, "10:00 and 16:00"), "Reply").click()
        page.wait_for_timeout(300)  # let the iframe settle to its new height
        iframe = page.locator("iframe[name=discuss-thread]")
        iframe.scroll_into_view_if_needed()
        iframe.screenshot(path=os.path.join(artifacts, f"widget-{name}.png"))
        if name == "light":
            page.screenshot(path=os.path.join(artifacts, "demo-page.png"), full_page=True)
        if name == "320":
            # No horizontal scrolling at 320 px, inside the widget or on the page.
            assert frame.locator("html").evaluate("el => el.scrollWidth <= el.clientWidth")
            page.screenshot(path=os.path.join(artifacts, "demo-page-320.png"), full_page=True)
        text = frame.locator("#discuss").inner_text()
        assert "null" not in text and "undefined" not in text
        if name == "dark":
            ink = frame.locator("body").evaluate("el => getComputedStyle(el).color")
            assert ink == "rgb(236, 235, 232)"


def test_theme_attribute_overrides_reader_preference(env, new_page):
    page = new_page(color_scheme="light")
    frame = open_thread(page, env.demo_url(article="showcase", theme="dark"))
    expect(frame.locator("html")).to_have_attribute("data-theme", "dark")
    assert frame.locator("body").evaluate("el => getComputedStyle(el).color") == "rgb(236, 235, 232)"


def test_keyboard_only_posting(env, new_page):
    page = new_page()
    frame = open_thread(page, env.demo_url(article="keyboard"))
    frame.get_by_label("Join the discussion").focus()
    page.keyboard.type("Typed without a mouse.")
    page.keyboard.press("Tab")  # preview is not focusable; next stop is the name field
    expect(frame.get_by_label("Name")).to_be_focused()
    page.keyboard.type("Kim")
    frame.get_by_label("Join the discussion").focus()
    page.keyboard.press("Control+Enter")
    posted = comment(frame, "Typed without a mouse.")
    expect(posted.locator(":scope > article")).to_be_focused()  # focus moves to what was posted
    outline = action(posted, "Reply")
    outline.focus()
    style = outline.evaluate("el => getComputedStyle(el).outlineStyle")
    assert style == "solid"  # a visible focus ring


def test_signed_in_reader_hook(env, new_page):
    """A session token handed to the widget (window.discuss.setToken) makes it render as that reader.
    Account readers are recognised by revocable drs_ sessions only (guest author tokens no longer
    sign them in), so the test starts one the way /auth/login does."""
    from discuss.models import AuthorKind, User
    from discuss.identity.readers import start_session

    with env.app.app_context():
        user = User(kind=AuthorKind.ACCOUNT, display_name="Jane Editor")
        db.session.add(user)
        db.session.commit()
        token = start_session(user, "password").token
    page = new_page()
    frame = open_thread(page, env.demo_url(article="signed-in"))
    child = page.query_selector("iframe[name=discuss-thread]").content_frame()
    child.evaluate("t => window.discuss.setToken(t)", token)
    expect(frame.get_by_text("Commenting as Jane Editor.")).to_be_visible()
    expect(frame.get_by_label("Name")).to_have_count(0)
    frame.get_by_label("Join the discussion").fill("Posted with my account.")
    frame.get_by_role("button", name="Post comment").click()
    mine = comment(frame, "Posted with my account.")
    expect(mine.locator(".dc-author")).to_have_text("Jane Editor")
    expect(mine.locator(".dc-badge").first).to_have_text("You")
    expect(action(mine, "Edit")).to_be_visible()
    expect(action(mine, "Report")).to_have_count(0)  # nobody reports themselves


@pytest.mark.parametrize("status,error,message", [
    (429, {"code": "rate_limited", "message": "Too many requests."}, "You're posting too quickly."),
    (403, {"code": "thread_closed", "message": "closed"}, "This discussion is closed to new comments."),
    (409, {"code": "duplicate_comment", "message": "dup"}, "It looks like you already posted this comment."),
])
def test_post_errors_read_clearly(env, new_page, status, error, message):
    import json

    page = new_page()
    frame = open_thread(page, env.demo_url(article="errors-" + error["code"]))
    page.context.route(re.compile(r".*/api/v1/comments$"), lambda route: route.fulfill(
        status=status, content_type="application/json", body=json.dumps({"error": error})))
    frame.get_by_label("Name").fill("Sam")
    frame.get_by_label("Join the discussion").fill("Hello there")
    frame.get_by_role("button", name="Post comment").click()
    expect(frame.locator(".dc-compose .dc-error")).to_contain_text(message)
    expect(frame.get_by_label("Join the discussion")).to_have_value("Hello there")  # nothing lost


def test_sandboxed_iframe_on_the_publisher_page(env, new_page):
    page = new_page()
    open_thread(page, env.demo_url(article="sandbox"))
    sandbox = page.locator("iframe[name=discuss-thread]").get_attribute("sandbox")
    assert "allow-top-navigation" not in sandbox and "allow-scripts" in sandbox
    assert page.locator("iframe[name=discuss-thread]").get_attribute("src").startswith(env.service.url + "/embed/thread?")


def test_without_javascript_readers_get_a_read_only_page(env, new_page, artifacts):
    seed_showcase(env, "nojs")
    page = new_page(javascript=False)
    page.goto(env.demo_url(article="nojs"))
    page.get_by_role("link", name="Read the comments on this article").click()
    expect(page.get_by_role("heading", name="Comments 6 comments")).to_be_visible()
    expect(page.get_by_text("10:00 and 16:00 according to the harbour master")).to_be_visible()
    assert page.url.startswith(env.service.url + "/embed/read?")
    page.screenshot(path=os.path.join(artifacts, "read-only-page.png"), full_page=True)
