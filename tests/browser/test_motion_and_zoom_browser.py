"""Reduced motion and 200% zoom.

Reduced motion: with prefers-reduced-motion: reduce, nothing animates (the permalink highlight is the
widget's one animation; embed.js then jumps to the comment instead of scrolling smoothly).

Zoom: browser zoom at 200% is a viewport half as wide in CSS pixels at twice the device pixel ratio,
so that is how it is emulated (1280x900 becomes 640x450 at DPR 2; the 360 px phone becomes 180).
At 200% no content may be clipped, overlap other content, or need sideways scrolling. Screenshots:
tests/artifacts/zoom-200-*.png.
"""
from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM, open_thread
from tests.dashboard_support import PASSWORD

pytestmark = [pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium"),
              pytest.mark.timeout(120)]


@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
def test_permalink_highlight_animates_only_without_reduced_motion(env, browser, motion):
    target = env.post("motion", f"The highlighted comment ({motion}).", name="Ines")["comment"]["id"]
    context = browser.new_context(viewport={"width": 1200, "height": 900}, reduced_motion=motion)
    try:
        page = context.new_page()
        frame = open_thread(page, env.demo_url(article="motion") + f"#discuss-comment-{target}")
        article = frame.locator(f"#c-{target}.dc-hl > article")
        expect(article).to_be_focused()
        animation = article.evaluate("el => getComputedStyle(el).animationName")
        assert animation == ("none" if motion == "reduce" else "dc-hl")
    finally:
        context.close()


# Every visible control and text run, per line box; two from different elements that intersect
# (by more than a pixel each way) overlap. Elements whose text is cut off (overflow hidden or
# clipped and wider/taller than their box) are clipped.
LAYOUT_PROBLEMS_JS = """(root) => {
  const boxes = [];
  const picks = root.querySelectorAll('button, a, input, textarea, select, summary, label, time, h1, h2, h3, h4, p, dt, dd, td, th, .dc-author, .dc-badge, .badge, .tab');
  for (const el of picks) {
    if (!shown(el)) continue;  // also skips the inside of a closed <details>
    if (el.closest('.visually-hidden, .dc-sr, .dc-hp, [hidden]')) continue;
    for (const r of el.getClientRects()) if (r.width > 1 && r.height > 1) boxes.push([el, r]);
  }
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [a, ra] = boxes[i], [b, rb] = boxes[j];
    if (a === b || a.contains(b) || b.contains(a)) continue;
    const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
    const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
    if (w > 1 && h > 1) overlaps.push(describe(a) + ' / ' + describe(b));
  }
  const clipped = [];
  for (const el of root.querySelectorAll('*')) {
    const cs = getComputedStyle(el);
    if (!shown(el) || el.closest('.visually-hidden, .dc-sr, .dc-hp, .audit, .table-scroll, pre')) continue;
    if (!/hidden|clip/.test(cs.overflowX + cs.overflowY) || cs.textOverflow === 'ellipsis') continue;
    if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1) clipped.push(describe(el));
  }
  const doc = document.documentElement;
  return {overlaps: [...new Set(overlaps)], clipped, sideways: doc.scrollWidth > doc.clientWidth + 1};
  function shown(el) { return el.checkVisibility({visibilityProperty: true, opacityProperty: true}); }
  function describe(el) { return el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ').join('.') : '') +
    ' "' + (el.textContent || el.value || '').trim().slice(0, 30) + '"'; }
}"""


STAFF_EMAIL = "zoom-admin@ledger.example"


def layout_problems(target, selector: str = "body") -> dict:
    return target.locator(selector).evaluate(LAYOUT_PROBLEMS_JS)


def zoomed(browser, width: int, height: int, **options):
    return browser.new_context(viewport={"width": width // 2, "height": height // 2}, device_scale_factor=2,
                               **options)


@pytest.mark.parametrize("device", [(1280, 900), (720, 1280)], ids=["desktop", "tablet"])
def test_widget_at_200_percent_zoom_has_no_clipped_or_overlapping_content(env, browser, artifacts, device):
    from tests.browser.test_widget_browser import seed_showcase

    if not env.client.get("/api/v1/comments?site=demo&article=zoom").get_json()["comments"]:
        seed_showcase(env, "zoom")
    context = zoomed(browser, *device)
    try:
        page = context.new_page()
        frame = open_thread(page, env.demo_url(article="zoom"))
        expect(frame.locator(".dc-top > .dc-item")).to_have_count(3)
        frame.get_by_role("button", name="Reply").first.click()
        frame.get_by_text("Formatting help").first.click()
        page.wait_for_timeout(300)  # the iframe settles to its new height
        iframe = page.locator("iframe[name=discuss-thread]")
        iframe.scroll_into_view_if_needed()
        iframe.screenshot(path=os.path.join(artifacts, f"zoom-200-widget-{device[0]}.png"))
        page.screenshot(path=os.path.join(artifacts, f"zoom-200-demo-{device[0]}.png"))
        widget = page.frame(name="discuss-thread")
        found = layout_problems(widget, "#discuss")
        assert found == {"overlaps": [], "clipped": [], "sideways": False}, found
        assert not layout_problems(page)["sideways"]
    finally:
        context.close()


def test_dashboard_at_200_percent_zoom_has_no_clipped_or_overlapping_content(env, browser, artifacts):
    from discuss.extensions import db
    from discuss.models import Role, User
    from discuss.models.queries import site_by_slug
    from tests.dashboard_support import make_staff

    with env.app.app_context():
        if not db.session.query(User).filter_by(email=STAFF_EMAIL).first():
            make_staff(STAFF_EMAIL, Role.ADMIN, [site_by_slug("demo")])
    env.post("zoom-queue", "Surely an idiot wrote this held comment.", name="Held Guest", acknowledge_warning=True)
    context = zoomed(browser, 1280, 900)
    try:
        page = context.new_page()
        page.goto(env.service.url + "/auth/login")
        found = layout_problems(page)
        assert found == {"overlaps": [], "clipped": [], "sideways": False}, found
        page.fill("#email", STAFF_EMAIL)
        page.fill("#password", PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url("**/mod/**")
        page.goto(env.service.url + "/mod/queue/pending?site=demo")
        page.screenshot(path=os.path.join(artifacts, "zoom-200-dashboard-queue.png"), full_page=True)
        found = layout_problems(page)
        assert found == {"overlaps": [], "clipped": [], "sideways": False}, found
    finally:
        context.close()


def test_layout_probe_finds_overlap_clipping_and_sideways_scroll(browser):
    """The probe above is not vacuous: it reports what it is meant to catch."""
    context = browser.new_context(viewport={"width": 400, "height": 300})
    try:
        page = context.new_page()
        page.set_content("""<body style="margin:0">
          <button style="position:absolute;left:0;top:0;width:120px">First</button>
          <button style="position:absolute;left:60px;top:5px;width:120px">Second</button>
          <p style="position:absolute;top:60px;width:80px;height:20px;overflow:hidden">A long clipped line of text
            that cannot fit in its little box at all</p>
          <div style="width:900px;height:10px;margin-top:120px"></div></body>""")
        found = layout_problems(page)
        assert any("First" in o and "Second" in o for o in found["overlaps"])
        assert any(c.startswith("p ") for c in found["clipped"])
        assert found["sideways"] is True
    finally:
        context.close()
