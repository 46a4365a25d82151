"""The widget's strings and assets: one language file per page, scripts served minified.

Strings: static/embed/i18n/en.json is the one source of truth for the keys; every other
<code>.json holds the same keys in its language (tests/test_locales.py checks keys, plural forms
and placeholders). A page inlines the strings of ONE language, chosen by ``choose_language``, so a
reader downloads only their language. A key missing from a translation (a string added in English
and not translated yet) shows in English rather than as its key.

Assets: thread.js, thread.css and embed.js are plain files with comments (no build step); they are
served minified by rjsmin/rcssmin, computed once per process, which keeps the first load under the
25 KB gzipped budget (bench/widget_size.py). rjsmin does not understand template literals, so the
widget's scripts use none (tests/test_locales.py checks that).
"""
from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from typing import Any, Iterable

import rcssmin
import rjsmin

from discuss.locales import DEFAULT_LANGUAGE, LANGUAGES, best_match, direction

STATIC_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static", "embed")
I18N_DIR = os.path.join(STATIC_DIR, "i18n")
# What embed.js needs on the publisher's page (the iframe's title, comment counts), in every
# language: it picks one there, from data-lang or the page's and the browser's languages.
EMBED_JS_KEY_PREFIXES = ("count_",)
EMBED_JS_KEYS = ("locale", "frame_title", "noscript")
MINIFIED = ("thread.js", "thread.css", "read.css", "embed.js")


def _read_json(code: str) -> dict[str, Any]:
    with open(os.path.join(I18N_DIR, f"{code}.json"), encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=len(LANGUAGES) + 1)
def load_strings(lang: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """The strings of one shipped language, English underneath for keys not translated yet."""
    code = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    english = _read_json(DEFAULT_LANGUAGE)
    translated = _read_json(code) if code != DEFAULT_LANGUAGE else {}
    # A plural group the language translates uses only its own forms (English "one"/"other"
    # would not mix with Polish "few"/"many"); an untranslated group falls back whole.
    translated_groups = {_plural_base(k) for k in translated} - {None}
    strings = {k: v for k, v in english.items() if _plural_base(k) not in translated_groups or _plural_base(k) is None}
    strings.update(translated)
    strings["locale"] = code
    strings["dir"] = direction(code)
    return strings


@lru_cache(maxsize=len(LANGUAGES) + 1)
def strings_json(lang: str = DEFAULT_LANGUAGE) -> str:
    """The strings as the iframe page inlines them: UTF-8 (not \\u escapes, which would make
    Cyrillic three times larger) with the characters that could end a <script> block escaped."""
    text = json.dumps(load_strings(lang), ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(char, escaped)
    return text


PLURAL_FORMS = ("zero", "one", "two", "few", "many", "other")


def _plural_base(key: str) -> str | None:
    base, _, form = key.rpartition("_")
    return base if base and form in PLURAL_FORMS else None


def choose_language(explicit: str | None, site_language: str | None, browser: Iterable[str | None]) -> str:
    """The embed's `lang` (data-lang) if we ship it, else the site's default language, else the
    reader's browser languages in order, else English."""
    if best_match([explicit]):
        return best_match([explicit])  # type: ignore[return-value]
    if site_language and site_language in LANGUAGES:
        return site_language
    return best_match(browser) or DEFAULT_LANGUAGE


def accept_languages(header_value: Iterable[tuple[str, float]]) -> list[str]:
    """Accept-Language entries, best first (werkzeug's LanguageAccept iterates that way)."""
    return [tag for tag, quality in header_value if quality > 0]


@lru_cache(maxsize=len(MINIFIED))
def minified(filename: str) -> bytes:
    with open(os.path.join(STATIC_DIR, filename), encoding="utf-8") as fh:
        source = fh.read()
    if filename.endswith(".css"):
        return rcssmin.cssmin(source).encode()
    return rjsmin.jsmin(source).encode()


@lru_cache(maxsize=len(MINIFIED))
def asset_version(filename: str) -> str:
    return hashlib.sha256(minified(filename)).hexdigest()[:10]


@lru_cache(maxsize=1)
def embed_js_source() -> str:
    strings = {}
    for code in LANGUAGES:
        all_strings = load_strings(code)
        strings[code] = {k: v for k, v in all_strings.items()
                         if k in EMBED_JS_KEYS or k.startswith(EMBED_JS_KEY_PREFIXES)}
    source = minified("embed.js").decode()
    assert "var ALL={};" in source, "embed.js lost its strings placeholder"
    # JSON is a JS expression; escape "<" so the text can never close a surrounding tag.
    payload = json.dumps(strings, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return source.replace("var ALL={};", "var ALL=" + payload + ";", 1)
