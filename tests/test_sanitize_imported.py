"""Imported HTML (another service's comments) is cleaned under the same allowlist and link rules
as a posted comment: sanitize.clean_foreign_html."""
from __future__ import annotations

import re

import pytest

from discuss.sanitize import (ALLOWED_TAGS, clean_foreign_html, clean_html_to_paragraphs, clean_html_to_text,
                              html_to_text)

ATTACKS = [
    '<script>alert(1)</script>x',
    '<img src=x onerror=alert(1)>x',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href=" JaVaScRiPt:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<svg><script>alert(1)</script></svg>x',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<p style="background:url(javascript:alert(1))" onclick="x()">x</p>',
    '<iframe src="https://evil.example"></iframe>x',
    '<form action="https://evil.example"><input name=a></form>x',
    '<!-- <script>alert(1)</script> -->x',
    '<<script>script>alert(1)<</script>/script>x',
    '<a href="https://ok.example" target="_blank" rel="opener">x</a>',
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_hostile_html_is_neutralised(attack):
    html = clean_foreign_html(attack)
    lowered = html.lower()
    for bad in ("<script", "javascript:", "vbscript:", "data:", "onerror", "onclick", "<iframe", "<form", "<svg",
                "<math", "style=", "target=", "<img", "<input", "<!--"):
        assert bad not in lowered, (attack, html)
    for tag in re.findall(r"</?([a-zA-Z0-9]+)", html):
        assert tag in ALLOWED_TAGS, (attack, html)


def test_links_get_the_comment_rel_and_keep_safe_hrefs():
    html = clean_foreign_html('<a href="https://ok.example/?a=1&b=2" title="t">ok</a>')
    assert html == '<p><a href="https://ok.example/?a=1&amp;b=2" title="t" rel="nofollow ugc noopener">ok</a></p>'


def test_plain_text_gets_paragraphs_and_old_tags_their_modern_names():
    assert clean_foreign_html("one\ntwo\n\nthree & <b>four</b>") == (
        "<p>one<br>two</p><p>three &amp; <strong>four</strong></p>")
    assert clean_foreign_html("<i>a</i> <s>b</s> <strike>c</strike>") == "<p><em>a</em> <del>b</del> <del>c</del></p>"


@pytest.mark.parametrize("source", ATTACKS + ["<p>Héllo 😀 &lt;b&gt; &amp;&amp; \"q\"</p><ul><li>a</li><li>b</li></ul>",
                                              "line\nbreak\n\npara <code>x &lt; y</code>"])
def test_fast_text_matches_the_parsing_text(source):
    html = clean_foreign_html(source)
    assert clean_html_to_text(html) == html_to_text(html)
    assert re.search(r"<(p|br|a|li|ul|strong)\b", clean_html_to_paragraphs(html)) is None


@pytest.mark.parametrize("href", ["ftp://files.example/x", "tel:+4412345", "irc://chat.example", "sms:123"])
def test_only_the_comment_schemes_survive(href):
    # ammonia allows these by default; comments allow http, https and mailto only
    assert "href" not in clean_foreign_html(f'<a href="{href}">x</a>')
