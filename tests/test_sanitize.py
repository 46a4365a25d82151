"""The sanitizer: Markdown subset in, safe HTML out, whatever a reader types."""
from html.parser import HTMLParser

import pytest

from discuss.sanitize import html_to_text, normalize_name, normalize_text, render_markdown

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
    "[click](&#x6A;avascript:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "<iframe src=https://evil.example></iframe>",
    "<form action=https://evil.example><input name=a></form>",
    "<style>body{display:none}</style>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</script>",
    "<a href='x' onclick='alert(1)'>x",
    "<b onmouseover=alert(1)>bold</b>",
    "![x](javascript:alert(1))",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
    "`<script>alert(1)</script>`",
    "```\n<script>alert(1)</script>\n```",
    "<https://ok.example/\"onmouseover=\"alert(1)>",
]


ALLOWED = {"p": set(), "br": set(), "em": set(), "strong": set(), "a": {"href", "rel", "title"},
           "blockquote": set(), "ul": set(), "ol": set(), "li": set(), "code": set(), "pre": set(), "del": set()}


class _Elements(HTMLParser):
    """Collects the real elements and attributes a browser would build (text is ignored)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_render_inert(payload):
    parser = _Elements()
    parser.feed(render_markdown(payload))
    for tag, attrs in parser.elements:
        assert tag in ALLOWED, (payload, tag)
        assert set(attrs) <= ALLOWED[tag], (payload, attrs)
        href = (attrs.get("href") or "").replace("\t", "").replace(" ", "").lower()
        assert not href.startswith(("javascript:", "data:", "vbscript:")), (payload, href)


def test_markdown_subset_renders():
    html = render_markdown("*em* **strong** `code`\n\n> quoted\n\n- one\n- two\n\n1. first\n\n```\nblock\n```")
    for fragment in ("<em>em</em>", "<strong>strong</strong>", "<code>code</code>", "<blockquote>",
                     "<ul>", "<ol>", "<li>one</li>", "<pre><code>block"):
        assert fragment in html


def test_links_get_nofollow_ugc_noopener():
    html = render_markdown("[site](https://example.com) and https://bare.example.org/path")
    assert html.count('rel="nofollow ugc noopener"') == 2
    assert 'href="https://bare.example.org/path"' in html


def test_headings_images_and_tables_are_not_part_of_the_subset():
    html = render_markdown("# Big\n\n![pic](https://x.example/p.png)")
    assert "<h1" not in html and "<img" not in html


def test_code_content_is_escaped_once():
    assert render_markdown("`a < b & c`") == "<p><code>a &lt; b &amp; c</code></p>"


def test_plain_text_for_scoring_has_no_markup():
    assert html_to_text(render_markdown("You are *really* [smart](https://x.example)\n\nTruly &amp; deeply")) == \
        "You are really smart Truly & deeply"


def test_names_lose_control_and_zero_width_characters():
    assert normalize_name("  An\u200bn\u0000 \n  Smith\u202e ") == "Ann Smith"
    assert normalize_name("Cafe\u0301") == "Café"


def test_body_is_nfc_normalized_and_trimmed():
    assert normalize_text("  Cafe\u0301\r\n\u200b ") == "Café"
