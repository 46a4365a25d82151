"""The only place that turns reader input into HTML or plain text.

Markdown (a small subset, raw HTML disabled) is rendered with markdown-it, then the HTML is
cleaned again with a bleach allowlist: markdown-it alone is not a security boundary, and
bleach is kept behind this one module because it is in security-fix-only mode upstream.
"""
from __future__ import annotations

import re
import unicodedata
from html import unescape

import bleach
import nh3
from bleach.linkifier import Linker
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset({"p", "br", "em", "strong", "a", "blockquote", "ul", "ol", "li", "code", "pre", "del"})
ALLOWED_ATTRIBUTES = {"a": ["href", "rel", "title"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"

# "zero" preset has every rule off; turn on only the subset comments may use. `html` stays
# off, so raw HTML in a comment is rendered as text, never as markup.
_markdown = (MarkdownIt("zero", {"html": False, "linkify": True, "breaks": True})
             .enable(["emphasis", "link", "linkify", "blockquote", "list", "backticks", "fence", "code",
                      "newline", "escape", "strikethrough", "autolink", "entity"]))

# Written with escapes, not the characters, so the same text is a Python and an ECMA-262 regex.
_STRIPPED_CHARS = r"\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
_ZERO_WIDTH_AND_CONTROL = re.compile(f"[{_STRIPPED_CHARS}]")
# One character that survives normalize_text/normalize_name and is not blank: a required text
# field must hold one. The API description states it, so a fuzzer never calls "\u0006" valid.
VISIBLE_CHAR_PATTERN = rf"[^\s{_STRIPPED_CHARS}]"
# The shape of an email address, wherever one is accepted (API fields, SSO claims). Control characters are
# named as well as \s because Python's \s takes \x1c-\x1f and \x85 and ECMA-262's takes \ufeff: with both
# listed, the API description (ECMA) and the server (Python) accept exactly the same addresses.
_NOT_IN_EMAIL = r"[^@\s\u0000-\u001f\u007f-\u009f\ufeff]"
EMAIL_PATTERN = rf"^{_NOT_IN_EMAIL}{{1,64}}@{_NOT_IN_EMAIL}{{1,190}}\.{_NOT_IN_EMAIL}{{2,}}$"
_WHITESPACE_RUN = re.compile(r"\s+")


def _set_link_rel(attrs, new=False):
    href_key = (None, "href")
    href = attrs.get(href_key, "")
    if not _is_safe_href(href):
        attrs.pop(href_key, None)
    attrs[(None, "rel")] = LINK_REL
    return attrs


def _is_safe_href(href: str) -> bool:
    # bleach already drops disallowed protocols; this also rejects entity-encoded or
    # whitespace-obfuscated schemes once they are decoded.
    decoded = _ZERO_WIDTH_AND_CONTROL.sub("", unescape(href)).strip().lower()
    decoded = re.sub(r"\s", "", decoded)
    return not decoded.startswith(("javascript:", "data:", "vbscript:", "file:"))


_cleaner = bleach.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, protocols=ALLOWED_PROTOCOLS,
                          strip=True, strip_comments=True)
# Bare URLs are linked by markdown-it (linkify) so code spans stay untouched; the Linker only
# runs its callback over existing links (its own URL matching is switched off, because its
# skip_tags option double-escapes code blocks).
_linker = Linker(callbacks=[_set_link_rel], url_re=re.compile(r"(?!x)x"), parse_email=False)


# HTML written by another comment service (imports) is cleaned by ammonia (nh3) with the same
# allowlist, schemes, link rel and href check as posted comments. It parses in Rust: a 100,000-
# comment archive is cleaned in seconds, where bleach's pure-Python parser takes minutes.
_FOREIGN_ATTRIBUTES = {tag: set(attrs) - {"rel"} for tag, attrs in ALLOWED_ATTRIBUTES.items()}
_BLOCK_TAG = re.compile(r"<(p|div|blockquote|ul|ol|pre|br)\b", re.IGNORECASE)
_SYNONYM_TAG = re.compile(r"<(/?)(b|i|s|strike)(?=[\s>/])", re.IGNORECASE)
_SYNONYMS = {"b": "strong", "i": "em", "s": "del", "strike": "del"}
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_TAG = re.compile(r"<[^>]*>")


def _foreign_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "href" and not _is_safe_href(value):
        return None
    return value


def clean_foreign_html(html: str) -> str:
    """HTML from another comment service -> safe HTML under the same rules as a posted comment.

    Text without block markup gets paragraphs at blank lines and line breaks at newlines (as
    WordPress and Disqus display it); b/i/s become strong/em/del; other tags are dropped (the
    contents of script and style with them), and links get the same rel and scheme checks.
    """
    html = normalize_text(html)
    if not _BLOCK_TAG.search(html):
        paragraphs = [p.strip().replace("\n", "<br>") for p in _PARAGRAPH_BREAK.split(html) if p.strip()]
        html = "".join(f"<p>{p}</p>" for p in paragraphs)
    html = _SYNONYM_TAG.sub(lambda m: f"<{m.group(1)}{_SYNONYMS[m.group(2).lower()]}", html)
    return nh3.clean(html, tags=set(ALLOWED_TAGS), attributes=_FOREIGN_ATTRIBUTES,
                     url_schemes=set(ALLOWED_PROTOCOLS), link_rel=LINK_REL, strip_comments=True,
                     attribute_filter=_foreign_attribute).strip()


def clean_html_to_text(html: str) -> str:
    """``html_to_text`` for HTML this module already cleaned (no raw ``<`` survives in its
    text), without a second parse: the same result, for bulk imports and posting."""
    text = _TAG.sub("", html.replace("</p>", "</p>\n").replace("<br>", "\n").replace("</li>", "</li>\n"))
    return _WHITESPACE_RUN.sub(" ", unescape(text)).strip()


def clean_html_to_paragraphs(html: str) -> str:
    """Readable text of cleaned HTML with paragraph and line breaks kept: the stored source
    text of an imported comment (what a data export shows)."""
    text = html.replace("</p>", "\n\n").replace("<br>", "\n").replace("</li>", "\n")
    text = unescape(_TAG.sub("", text.replace("</blockquote>", "\n\n")))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def normalize_text(text: str) -> str:
    """NFC-normalize and drop control characters (keeping newlines and tabs) from a body."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return _ZERO_WIDTH_AND_CONTROL.sub("", text).strip()


def normalize_name(name: str) -> str:
    """NFC, no control or zero-width characters, single spaces: names can't hide or spoof."""
    name = _ZERO_WIDTH_AND_CONTROL.sub("", unicodedata.normalize("NFC", name))
    name = name.replace("\n", " ").replace("\t", " ")
    return _WHITESPACE_RUN.sub(" ", name).strip()


def clean_html(html: str) -> str:
    """The allowlist: only ALLOWED_TAGS and ALLOWED_ATTRIBUTES survive, links get rel and lose
    unsafe schemes. Idempotent: clean output cleans to itself."""
    # Control characters go first (as normalize_text drops them from a body): html5lib keeps a form
    # feed in text but writes "?" for it when it reads that text again, so cleaning was not idempotent.
    return _linker.linkify(_cleaner.clean(_ZERO_WIDTH_AND_CONTROL.sub("", html))).strip()


MAX_TITLE_CHARS = 200


def thread_title(title: str | None) -> str | None:
    """A thread title as shown in the dashboard and emails: one line, capped."""
    cleaned = normalize_name(title or "")
    if len(cleaned) > MAX_TITLE_CHARS:
        cleaned = cleaned[: MAX_TITLE_CHARS - 1].rstrip() + "…"
    return cleaned or None


def render_markdown(markdown: str) -> str:
    """Markdown subset -> clean HTML, safe to insert into any page as-is."""
    return clean_html(_markdown.render(markdown))


def html_to_text(html: str) -> str:
    """Plain text of cleaned HTML, for scoring and search (not for display)."""
    text = bleach.clean(html.replace("</p>", "</p>\n").replace("<br>", "\n"), tags=set(), strip=True)
    return _WHITESPACE_RUN.sub(" ", unescape(text)).strip()


def count_links(html: str) -> int:
    return html.count("<a ")
