"""Every shipped locale is complete: the widget's string files and the server's .po catalogs have
every key, the right plural forms for their language (CLDR, from Babel) and the same placeholders
as English. Adding an English string without translating it fails here, by name."""
from __future__ import annotations

import json
import os
import re

import pytest
from babel import Locale

from discuss.embed.strings import I18N_DIR, PLURAL_FORMS, choose_language, load_strings
from discuss.locales import LANGUAGES, best_match, model_covers, models_for

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
TRANSLATIONS = [code for code in LANGUAGES if code != "en"]


def _file(code: str) -> dict:
    with open(os.path.join(I18N_DIR, f"{code}.json"), encoding="utf-8") as fh:
        return json.load(fh)


def _split(key: str) -> tuple[str, str | None]:
    base, _, form = key.rpartition("_")
    return (base, form) if base and form in PLURAL_FORMS else (key, None)


def _placeholders(value) -> set[str]:
    return set(PLACEHOLDER.findall(value)) if isinstance(value, str) else set()


def cldr_forms(code: str) -> set[str]:
    return set(Locale.parse(code).plural_form.tags) | {"other"}


def widget_problems(code: str, english: dict, strings: dict) -> list[str]:
    """Human-readable problems of one widget file against English (empty when complete)."""
    problems = []
    en_plain = {k: v for k, v in english.items() if _split(k)[1] is None}
    en_groups: dict[str, dict[str, str]] = {}
    for key, value in english.items():
        base, form = _split(key)
        if form:
            en_groups.setdefault(base, {})[form] = value
    groups: dict[str, dict[str, str]] = {}
    for key, value in strings.items():
        base, form = _split(key)
        if form:
            if base not in en_groups:
                problems.append(f"{key}: not an English key")
            groups.setdefault(base, {})[form] = value
        elif key not in en_plain:
            problems.append(f"{key}: not an English key")
    for key, value in en_plain.items():
        if key not in strings:
            problems.append(f"{key}: missing")
        elif type(strings[key]) is not type(value):
            problems.append(f"{key}: should be a {type(value).__name__}")
        elif isinstance(value, str) and _placeholders(strings[key]) != _placeholders(value):
            problems.append(f"{key}: placeholders {sorted(_placeholders(strings[key]))}, English has {sorted(_placeholders(value))}")
        elif isinstance(value, dict) and set(value) != set(strings[key]):
            problems.append(f"{key}: keys {sorted(strings[key])}, English has {sorted(value)}")
        elif isinstance(value, list) and len(value) != len(strings[key]):
            problems.append(f"{key}: {len(strings[key])} rows, English has {len(value)}")
        elif key == "help_rows":
            for (en_syntax, _), (syntax, _) in zip(value, strings[key]):
                if re.sub(r"[\w\s.:/]", "", en_syntax) != re.sub(r"[\w\s.:/\u0600-\u06ff]", "", syntax):
                    problems.append(f"help_rows: {syntax!r} does not keep the Markdown of {en_syntax!r}")
    needed = cldr_forms(code)
    for base, en_forms in en_groups.items():
        forms = groups.get(base, {})
        have = set(forms) - {"zero"} if "zero" not in needed else set(forms)
        if have != needed:
            problems.append(f"{base}: plural forms {sorted(have)}, {code} needs {sorted(needed)}")
        allowed = set().union(*(_placeholders(v) for v in en_forms.values()))
        for form, value in forms.items():
            found = _placeholders(value)
            if not found <= allowed or not (allowed - {"n"}) <= found:
                problems.append(f"{base}_{form}: placeholders {sorted(found)}, English has {sorted(allowed)}")
    return problems


@pytest.mark.parametrize("code", TRANSLATIONS)
def test_widget_translation_has_every_key_plural_form_and_placeholder(code):
    assert widget_problems(code, _file("en"), _file(code)) == []


def test_the_completeness_check_catches_a_missing_key_a_wrong_placeholder_and_a_missing_plural_form():
    english, polish = _file("en"), dict(_file("pl"))
    del polish["retry"]
    polish["reply_label"] = "Twoja odpowiedź dla {imie}"
    del polish["count_few"]
    problems = widget_problems("pl", english, polish)
    assert "retry: missing" in problems
    assert any(p.startswith("reply_label: placeholders ['imie']") for p in problems)
    assert any(p.startswith("count: plural forms") for p in problems)


def test_every_shipped_language_has_a_widget_file_and_no_file_is_unlisted():
    files = {name[:-5] for name in os.listdir(I18N_DIR) if name.endswith(".json")}
    assert files == set(LANGUAGES)


def test_a_page_gets_one_language_with_english_only_under_untranslated_keys():
    ukrainian = load_strings("uk")
    assert ukrainian["locale"] == "uk" and ukrainian["dir"] == "ltr"
    assert ukrainian["count_few"] == "{n} коментарі" and ukrainian["retry"] == "Спробувати ще раз"
    assert load_strings("ar")["dir"] == "rtl"
    assert "count_one" not in load_strings("ja")  # Japanese has one form; English "one" would leak in
    assert load_strings("xx")["locale"] == "en"


def test_language_choice_is_data_lang_then_site_default_then_browser_then_english():
    assert choose_language("uk", "de", ["fr"]) == "uk"
    assert choose_language("pt-BR", None, []) == "pt"
    assert choose_language("klingon", "de", ["fr"]) == "de"
    assert choose_language(None, "auto", ["sw", "fr-CA", "de"]) == "fr"
    assert choose_language(None, None, ["sw"]) == "en"
    assert best_match(["EN_gb"]) == "en"


def test_the_widget_scripts_use_no_template_literals_which_the_minifier_cannot_parse():
    for name in ("thread.js", "embed.js"):
        with open(os.path.join(os.path.dirname(I18N_DIR), name), encoding="utf-8") as fh:
            assert "`" not in fh.read(), name


def test_multilingual_model_covers_seven_languages_and_the_english_models_one():
    assert [code for code in LANGUAGES if model_covers("multilingual", code)] == ["en", "fr", "es", "it", "pt", "ru", "tr"]
    assert model_covers("unbiased", "en") and not model_covers("unbiased", "uk")
    assert models_for("ja") == [] and "multilingual" in models_for("ru")
