"""The small things a first accessibility look found (issue 20): a guest's age in the queue, the
favicon, and the demo page's theme toggle. The browser-side audits live in tests/browser."""
from __future__ import annotations

import re
import struct
from datetime import timedelta

import pytest

from discuss.embed.demo import render_demo_page
from discuss.extensions import db
from discuss.models import AuthorKind, CommentStatus, utcnow
from tests.factories import make_comment, make_user


@pytest.mark.signed_in("admin")
def test_queue_calls_a_guest_a_guest_not_a_zero_day_account(client, world):
    guest = make_user("Passing Guest", kind=AuthorKind.GUEST)
    member = make_user("Long Time Reader", kind=AuthorKind.ACCOUNT)
    member.created_at = utcnow() - timedelta(days=40)
    db.session.commit()
    held_guest = make_comment(world.thread, guest, "A guest's held comment.", status=CommentStatus.PENDING)
    held_member = make_comment(world.thread, member, "A member's held comment.", status=CommentStatus.PENDING)

    html = client.get("/mod/queue/pending").get_data(as_text=True)

    def history_of(comment_id: int) -> str:
        item = html.split(f'id="c{comment_id}"', 1)[1].split("</article>", 1)[0]
        return re.search(r'class="history"[^>]*>(.*?)</span>', item, re.S).group(1)

    assert "d account" not in history_of(held_guest.id)
    assert history_of(held_guest.id).strip().endswith("· guest")
    assert history_of(held_member.id).strip().endswith("· 40d account")


def test_favicon_is_a_real_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    data = response.get_data()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1) and count >= 1  # an ICO directory
    sizes = [struct.unpack("<BB", data[6 + 16 * i:8 + 16 * i]) for i in range(count)]
    assert (32, 32) in sizes
    assert "max-age" in response.headers["Cache-Control"]


def test_dashboard_pages_point_at_the_favicon(client):
    html = client.get("/auth/login").get_data(as_text=True)
    assert '<link rel="icon" href="/favicon.ico">' in html


def test_demo_page_theme_toggle_keeps_the_rest_of_the_query():
    html = render_demo_page("http://comments.example", theme="dark",
                            query={"article": "bridge", "theme": "dark"})
    toggle = re.search(r'<nav class="theme-toggle" aria-label="Colour theme">(.*?)</nav>', html, re.S).group(1)
    links = re.findall(r'<a href="([^"]*)"( aria-current="true")?>(\w+)</a>', toggle)
    assert [(href.replace("&amp;", "&"), bool(current), label) for href, current, label in links] == [
        ("?article=bridge&theme=light", False, "Light"),
        ("?article=bridge&theme=dark", True, "Dark"),
        ("?article=bridge", False, "Auto"),
    ]
    assert 'data-theme="dark"' in html  # and the widget snippet carries the theme


def test_demo_route_offers_the_toggle(client):
    html = client.get("/demo?theme=light").get_data(as_text=True)
    assert '<a href="?theme=light" aria-current="true">Light</a>' in html
    assert '<a href="?theme=dark">Dark</a>' in html
