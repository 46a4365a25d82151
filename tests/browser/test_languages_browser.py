"""The widget in Arabic (right to left, chosen by data-lang), Ukrainian and Japanese (chosen by the
reader's browser languages), in real Chromium: plural forms, relative times and layout direction.
Screenshots go to tests/artifacts/widget-lang-*.png."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest

from discuss.extensions import db
from discuss.models import Comment, utcnow
from tests.browser.conftest import open_thread


def _seed(env, article: str, bodies: list[tuple[str, str]], hours_ago: int = 3) -> None:
    """A top-level comment with replies; the first comment is backdated so relative times show."""
    first = env.post(article, bodies[0][1], name=bodies[0][0])["comment"]
    for name, body in bodies[1:]:
        env.post(article, body, name=name, parent_id=first["id"])
    with env.app.app_context():
        comment = db.session.get(Comment, first["id"])
        comment.created_at = utcnow() - timedelta(hours=hours_ago)
        db.session.commit()


@pytest.fixture
def reader_in(browser, env):
    """Factory: a page whose browser speaks `locale` (navigator.languages, Accept-Language)."""
    contexts = []

    def factory(locale: str, width: int = 900):
        context = browser.new_context(viewport={"width": width, "height": 900}, locale=locale)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        return page

    yield factory
    for context in contexts:
        context.close()


def _frame_html(page):
    return page.frame(name="discuss-thread")


def test_arabic_widget_is_right_to_left_with_arabic_plurals(env, reader_in, artifacts):
    _seed(env, "lang-ar", [("سارة", "الجسر الجديد خطوة رائعة للمدينة."), ("عمر", "أتفق معك تمامًا، ننتظر افتتاحه.")])
    page = reader_in("en-US")
    frame = open_thread(page, env.demo_url("lang-ar", lang="ar"))
    doc = _frame_html(page)
    assert doc.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
    assert frame.locator(".dc-count").inner_text() == "تعليقان"  # Arabic's dual form for 2
    assert frame.locator("time.dc-time").first.inner_text() == "قبل 3 ساعات"
    # Replies indent from the right: the thread line is on the right edge, the reply sits left of its parent.
    style = doc.evaluate("""() => { const s = getComputedStyle(document.querySelector('.dc-replies'));
        return [s.borderRightWidth, s.borderLeftWidth]; }""")
    assert style == ["2px", "0px"]
    boxes = doc.evaluate("""() => [...document.querySelectorAll('.dc-comment')].map(e => e.getBoundingClientRect().right)""")
    assert boxes[1] < boxes[0]
    post = frame.locator(".dc-compose button[type=submit]")
    assert post.inner_text() == "نشر التعليق"
    page.locator("iframe[name=discuss-thread]").screenshot(path=os.path.join(artifacts, "widget-lang-ar.png"))
    assert page.errors == []


def test_ukrainian_browser_gets_the_ukrainian_widget_with_slavic_plurals(env, reader_in, artifacts):
    _seed(env, "lang-uk", [("Олена", "Нарешті міст знову відкрили для велосипедистів!"),
                           ("Тарас", "Так, і виглядає він чудово."), ("Ірина", "Чекали два роки."),
                           ("Богдан", "Гарна новина для району."), ("Марко", "Погоджуюся з усіма.")])
    page = reader_in("uk-UA")
    frame = open_thread(page, env.demo_url("lang-uk"))
    doc = _frame_html(page)
    assert doc.evaluate("document.documentElement.lang") == "uk"
    assert frame.locator(".dc-count").inner_text() == "5 коментарів"  # "many" form
    assert frame.locator(".dc-toggle").first.inner_text().endswith("Сховати 4 відповіді")  # "few" form
    assert frame.locator("time.dc-time").first.inner_text() == "3 години тому"
    page.locator("iframe[name=discuss-thread]").screenshot(path=os.path.join(artifacts, "widget-lang-uk.png"))
    assert page.errors == []


def test_japanese_browser_gets_the_japanese_widget(env, reader_in, artifacts):
    _seed(env, "lang-ja", [("さくら", "自転車で通れるようになって嬉しいです。"), ("健太", "修復の写真も見たいですね。"),
                           ("陽子", "週末に行ってみます。")], hours_ago=5)
    page = reader_in("ja-JP")
    frame = open_thread(page, env.demo_url("lang-ja"))
    assert _frame_html(page).evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ja", "ltr"]
    assert frame.locator(".dc-count").inner_text() == "コメント 3 件"
    assert frame.locator("time.dc-time").first.inner_text() == "5 時間前"
    assert page.locator("iframe[name=discuss-thread]").get_attribute("title") == "コメント"
    page.locator("iframe[name=discuss-thread]").screenshot(path=os.path.join(artifacts, "widget-lang-ja.png"))
    assert page.errors == []


def test_a_german_widget_says_why_a_comment_was_rejected_in_german(env, reader_in):
    """The API answers in the widget's language (it sends Accept-Language), so the explained
    reason is German, not the English text nor only the widget's generic 'not published'."""
    from discuss.models.queries import site_by_slug

    with env.app.app_context():
        site = site_by_slug("demo")
        before = dict(site.settings or {})
        site.settings = {**before, "rejection_feedback": "explain", "banned_words": ["zorblax"]}
        db.session.commit()
    try:
        page = reader_in("en-US")  # the browser speaks English; data-lang says German
        frame = open_thread(page, env.demo_url("lang-de-rejected", lang="de"))
        compose = frame.locator(".dc-compose")
        compose.locator("input[name=author_name]").fill("Ute")
        compose.locator("textarea").first.fill("Kauft zorblax, Leute!")
        compose.get_by_role("button", name="Kommentar senden").click()
        error = compose.locator(".dc-error")
        error.filter(has_text="nicht veröffentlicht").wait_for()
        assert error.inner_text() == ("Ihr Kommentar wurde nicht veröffentlicht: er enthält ein Wort, das diese "
                                      "Website nicht zulässt.")
        assert compose.locator("textarea").first.input_value() == "Kauft zorblax, Leute!"  # the text is kept
        assert not page.errors
    finally:
        with env.app.app_context():
            site = site_by_slug("demo")
            site.settings = before
            db.session.commit()
