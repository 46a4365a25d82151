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


# -- server-side catalogs (Flask-Babel): emails in every language, the dashboard in DASHBOARD_LANGUAGES --

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATALOGS = os.path.join(ROOT, "discuss", "translations")
PY_FORMAT = re.compile(r"%\(([a-z_]+)\)[sd]")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "lazy_ngettext": (1, 2), "N_": None}


def source_messages() -> dict[str, set[str]]:
    """Every translatable message in the code and templates (as pybabel extracts them, from
    babel.cfg), with the files it comes from."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with open(os.path.join(ROOT, "babel.cfg"), encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, set[str]] = {}
    for filename, _, message, _, _ in extract_from_dir(ROOT, method_map, options_map, keywords=KEYWORDS):
        msgid = message[0] if isinstance(message, (tuple, list)) else message
        found.setdefault(msgid, set()).add(filename)
    return found


# Messages every language translates: emails, and what the API tells a reader about their own
# comment (held, rejected and why), which the widget shows in its language.
EVERY_LANGUAGE = ("templates/email/", "discuss/jobs/", "discuss/moderation/feedback.py", "discuss/api/comments.py")


def _is_email_message(files: set[str]) -> bool:
    return any(f.startswith(EVERY_LANGUAGE) for f in files)


def _read_catalog(code: str):
    from babel.messages.pofile import read_po

    with open(os.path.join(CATALOGS, code, "LC_MESSAGES", "messages.po"), "rb") as fh:
        return read_po(fh)


def catalog_problems(code: str, messages: dict[str, set[str]], catalog, dashboard: bool) -> list[str]:
    problems = []
    nplurals = catalog.num_plurals
    by_id = {(m.id[0] if isinstance(m.id, tuple) else m.id): m for m in catalog if m.id}
    for msgid, files in sorted(messages.items()):
        if not dashboard and not _is_email_message(files):
            continue
        entry = by_id.get(msgid)
        if entry is None:
            problems.append(f"{msgid!r}: missing (run pybabel update)")
            continue
        strings = list(entry.string) if isinstance(entry.string, (tuple, list)) else [entry.string]
        ids = list(entry.id) if isinstance(entry.id, tuple) else [entry.id]
        if any(not s for s in strings):
            problems.append(f"{msgid!r}: not translated")
            continue
        if isinstance(entry.id, tuple) and len(strings) != nplurals:
            problems.append(f"{msgid!r}: {len(strings)} plural forms, {code} needs {nplurals}")
        wanted = set().union(*(PY_FORMAT.findall(i) for i in ids))
        for s in strings:
            if set(PY_FORMAT.findall(s)) != wanted:
                problems.append(f"{msgid!r}: placeholders {sorted(PY_FORMAT.findall(s))}, source has {sorted(wanted)}")
    return problems


@pytest.fixture(scope="module")
def messages():
    return source_messages()


def test_every_language_but_english_has_a_catalog():
    assert sorted(os.listdir(CATALOGS)) == sorted(["messages.pot", *TRANSLATIONS])


@pytest.mark.parametrize("code", TRANSLATIONS)
def test_catalog_translates_every_email_and_for_dashboard_languages_every_page(code, messages):
    from discuss.locales import DASHBOARD_LANGUAGES

    assert catalog_problems(code, messages, _read_catalog(code), dashboard=code in DASHBOARD_LANGUAGES) == []


def test_the_catalog_check_wants_the_readers_rejection_reasons_in_every_language(messages):
    catalog = _read_catalog("ja")
    catalog["it was scored as likely to be hurtful"].string = ""
    problems = catalog_problems("ja", messages, catalog, dashboard=False)
    assert problems == ["'it was scored as likely to be hurtful': not translated"]


def test_the_catalog_check_catches_an_untranslated_email_and_a_wrong_placeholder(messages):
    catalog = _read_catalog("de")
    catalog["Reset your password"].string = ""
    catalog["Hello %(name)s,"].string = "Hallo %(nom)s,"
    problems = catalog_problems("de", messages, catalog, dashboard=True)
    assert "'Reset your password': not translated" in problems
    assert any(p.startswith("'Hello %(name)s,': placeholders ['nom']") for p in problems)


@pytest.mark.parametrize("code", TRANSLATIONS)
def test_committed_mo_file_matches_its_po_file(code):
    """The .mo files are committed (a fresh clone serves translations with no build step); this
    fails when a .po was edited without `pybabel compile -d discuss/translations`."""
    from babel.messages.mofile import read_mo

    def flat(value):
        return tuple(value) if isinstance(value, (list, tuple)) else value

    with open(os.path.join(CATALOGS, code, "LC_MESSAGES", "messages.mo"), "rb") as fh:
        compiled = {flat(m.id): flat(m.string) for m in read_mo(fh) if m.id}
    source = {flat(m.id): flat(m.string) for m in _read_catalog(code)
              if m.id and (any(m.string) if isinstance(m.string, tuple) else m.string)}
    assert compiled == source
