"""The languages the service speaks, and how a reader's or a staff member's language is chosen.

One list for every surface: the widget's string files (static/embed/i18n/<code>.json), the email
catalogs (translations/<code>/LC_MESSAGES/messages.po) and the site setting ``language`` all use
these codes. The dashboard ships in fewer languages (DASHBOARD_LANGUAGES): a staff member who picks
another language gets English pages and emails in their language.

Which toxicity model covers which language is here too, so the settings page, ``model check`` and
the README say the same thing.
"""
from __future__ import annotations

from typing import Iterable

DEFAULT_LANGUAGE = "en"
# Widget and email languages, with their own names (shown in language pickers).
LANGUAGES: dict[str, str] = {
    "en": "English", "de": "Deutsch", "fr": "Français", "es": "Español", "it": "Italiano",
    "pt": "Português", "nl": "Nederlands", "pl": "Polski", "uk": "Українська", "ru": "Русский",
    "tr": "Türkçe", "ar": "العربية", "ja": "日本語",
}
RTL_LANGUAGES = frozenset({"ar"})
# The dashboard's pages are translated into these; other staff languages fall back to English.
DASHBOARD_LANGUAGES = ("en", "uk", "de")

# Detoxify's models and the languages they were trained on. `original` and `unbiased` (and their
# -small variants) are English only; `multilingual` (XLM-RoBERTa, Jigsaw 2020) covers seven.
MODEL_LANGUAGES: dict[str, tuple[str, ...]] = {
    "original": ("en",), "unbiased": ("en",), "original-small": ("en",), "unbiased-small": ("en",),
    "multilingual": ("en", "fr", "es", "it", "pt", "tr", "ru"),
}


def normalize(tag: str | None) -> str | None:
    """'pt-BR' -> 'pt', 'UK' -> 'uk'; None when the tag names no language we ship."""
    if not tag or not isinstance(tag, str):
        return None
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def best_match(candidates: Iterable[str | None], supported: Iterable[str] = LANGUAGES) -> str | None:
    """The first candidate (a language tag, in order of preference) that we ship, or None."""
    allowed = set(supported)
    for tag in candidates:
        code = normalize(tag)
        if code and code in allowed:
            return code
    return None


def direction(code: str) -> str:
    return "rtl" if code in RTL_LANGUAGES else "ltr"


def model_covers(model: str, code: str) -> bool:
    """Whether the toxicity model was trained on the language. An unknown model (a custom
    checkpoint) is assumed English only, like Detoxify's defaults."""
    return code in MODEL_LANGUAGES.get(model, ("en",))


def models_for(code: str) -> list[str]:
    return [name for name, codes in MODEL_LANGUAGES.items() if code in codes]


def model_language_lines(model: str) -> list[str]:
    """What `flask discuss model check` prints about languages: what this model covers, and which
    model to use for the other shipped languages."""
    covered = MODEL_LANGUAGES.get(model, ("en",))
    others = [code for code in LANGUAGES if code not in covered]
    lines = [f"languages:      {', '.join(covered)} (trained on; scores for other languages are unreliable)"]
    for code in others:
        better = [name for name in models_for(code) if name != model]
        advice = f"use DISCUSS_TOXICITY_MODEL={better[-1]}" if better else "no Detoxify model covers it"
        lines.append(f"  {code:3} {LANGUAGES[code]:12} {advice}")
    return lines


class Text(str):
    """An English message that can be said again in another language.

    It *is* the English string (so the JSON API, logs and ``str()`` see English), and it keeps
    its msgid and values, so a surface that speaks the user's language renders it with
    ``localize``. ``N_("Comment #%(id)s was changed since.", id=7)``: pybabel extracts the
    msgid (``-k N_``), and the values fill it in English here and in the translation there.
    A value may itself be a Text (a status, a list of reasons), and is translated too.
    """

    template: str
    params: dict

    def __new__(cls, template: str, **params):
        text = super().__new__(cls, template % params if params else template)
        text.template, text.params = template, params
        return text

    def __reduce__(self):  # pickles (RQ jobs, sessions) as a Text, not a bare str
        return _rebuild_text, (type(self), self.template, self.params)


def _rebuild_text(cls, template, params):
    return cls(template, **params)


N_ = Text


class TextList(Text):
    """Texts joined by a separator, each translated on its own: ``"a; b"``."""

    def __new__(cls, parts, separator: str = "; "):
        parts = tuple(parts)
        text = str.__new__(cls, separator.join(parts))
        text.template, text.params, text.parts, text.separator = separator.join(parts), {}, parts, separator
        return text

    def __reduce__(self):
        return TextList, (self.parts, self.separator)


def localize(text, gettext=None) -> str:
    """``text`` in the current Flask-Babel locale (or with the ``gettext`` given): a Text by its
    msgid and values; a plain string as a msgid (its own English when no catalog has it)."""
    if gettext is None:
        from flask_babel import gettext
    if isinstance(text, TextList):
        return text.separator.join(localize(part, gettext) for part in text.parts)
    if isinstance(text, Text):
        values = {key: localize(value, gettext) if isinstance(value, Text) else value
                  for key, value in text.params.items()}
        translated = gettext(text.template)
        try:
            return translated % values if values else translated
        except (KeyError, ValueError, TypeError):  # a broken translation: say it in English
            return text.template % values if values else text.template
    if isinstance(text, str) and text:
        return gettext(text)
    return text
