"""Languages on the served pages and in emails: which language a page picks, Arabic right to left,
the no-JavaScript page's plurals and dates, the staff language setting, the site language setting
and its model warning, emails in the recipient's or the site's language."""
from __future__ import annotations

import json
import re

import pytest

from discuss.errors import ValidationFailed
from discuss.extensions import db
from discuss.jobs import mail, notifications
from discuss.models.queries import site_by_slug
from discuss.models.settings import clean_settings
from tests.factories import make_comment, make_site, make_thread, make_user


def _sign_in_speaking(client, world, code: str):
    """Sign the client in as the world's admin, whose dashboard language is ``code``."""
    from tests.dashboard_support import sign_in

    admin = world.users["admin"]
    admin.language = code
    db.session.commit()
    sign_in(client, admin)
    return admin


def _strings(html: str) -> dict:
    return json.loads(re.search(r'id="discuss-strings">(.*?)</script>', html).group(1))


def test_thread_page_speaks_the_embeds_language_with_only_that_languages_strings(app, client):
    make_site("news", language="de")
    html = client.get("/embed/thread?site=news&article=a1&lang=uk").get_data(as_text=True)
    assert '<html lang="uk" dir="ltr"' in html
    strings = _strings(html)
    assert strings["heading"] == "Коментарі" and strings["count_many"] == "{n} коментарів"
    assert "Kommentare" not in html  # the site's default is not sent along


def test_without_data_lang_the_sites_language_wins_over_the_browsers(app, client):
    make_site("news", language="de")
    html = client.get("/embed/thread?site=news&article=a1&langs=fr-FR,en").get_data(as_text=True)
    assert '<html lang="de"' in html and _strings(html)["post"] == "Kommentar senden"


def test_on_auto_the_readers_browser_languages_decide_in_order(app, client):
    make_site("news")
    html = client.get("/embed/thread?site=news&article=a1&langs=sw,ja-JP,en").get_data(as_text=True)
    assert '<html lang="ja"' in html
    html = client.get("/embed/thread?site=news&article=a1", headers={"Accept-Language": "pl;q=0.9, xx"}).get_data(as_text=True)
    assert '<html lang="pl"' in html
    assert '<html lang="en"' in client.get("/embed/thread?site=news&article=a1&langs=sw").get_data(as_text=True)


def test_arabic_thread_page_is_right_to_left(app, client):
    make_site("news")
    html = client.get("/embed/thread?site=news&article=a1&lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in html


def test_inlined_strings_cannot_close_the_script_block(app, client):
    make_site("news")
    html = client.get("/embed/thread?site=news&article=a1").get_data(as_text=True)
    block = re.search(r'id="discuss-strings">(.*?)</script>', html, re.S).group(1)
    assert "<" not in block and ">" not in block


def test_read_page_uses_the_languages_plural_forms_and_dates(app, client):
    site = make_site("news", language="uk")
    thread = make_thread(site, "story")
    for _ in range(5):
        make_comment(thread)
    thread.published_count = 5
    db.session.commit()
    html = client.get("/embed/read?site=news&article=story").get_data(as_text=True)
    assert '<html lang="uk" dir="ltr">' in html
    assert "5 коментарів" in html and "Коментарі до «Story»" in html
    assert re.search(r"\d{4}\s*р\.", html)  # a Ukrainian medium date ("3 груд. 2026 р.")
    html = client.get("/embed/read?site=news&article=story&lang=ar").get_data(as_text=True)
    assert 'dir="rtl"' in html and "5 تعليقات" in html


def test_minified_assets_are_served_and_nothing_else_under_their_path(client):
    js = client.get("/embed/assets/thread.js")
    assert js.status_code == 200 and js.mimetype == "application/javascript"
    assert b"/* discuss:" not in js.data  # comments are stripped
    assert client.get("/embed/assets/thread.css").mimetype == "text/css"
    assert client.get("/embed/assets/../config.py").status_code == 404
    assert client.get("/embed/assets/demo.css").status_code == 404


def test_site_language_setting_accepts_shipped_languages_and_auto_only(app):
    assert clean_settings({"language": "uk"}) == {"language": "uk"}
    assert clean_settings({"language": "auto"}) == {"language": "auto"}
    with pytest.raises(ValidationFailed):
        clean_settings({"language": "xx"})


@pytest.mark.signed_in("admin")
def test_settings_page_saves_the_language_and_warns_when_the_model_does_not_cover_it(app, client, world):
    page = client.get("/mod/sites/news/settings").get_data(as_text=True)
    assert 'id="language"' in page and "language-warning" not in page
    app.config["WTF_CSRF_ENABLED"] = False
    response = client.post("/mod/sites/news/settings", data={**_settings_form(client), "language": "uk"})
    assert response.status_code in (200, 302)
    page = client.get("/mod/sites/news/settings").get_data(as_text=True)
    assert "language-warning" in page and "was not trained on Українська" in page
    app.config["TOXICITY_MODEL"] = "multilingual"
    page = client.get("/mod/sites/news/settings").get_data(as_text=True)
    assert "language-warning" in page and "No Detoxify model covers it" in page  # not multilingual either
    news = site_by_slug("news")
    news.settings = {**news.settings, "language": "ru"}
    db.session.commit()
    assert "language-warning" not in client.get("/mod/sites/news/settings").get_data(as_text=True)


def _settings_form(client) -> dict:
    """The settings form as the page fills it in (so only the language changes)."""
    html = client.get("/mod/sites/news/settings").get_data(as_text=True)
    form = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        form[name] = value
    for name in re.findall(r'<input type="checkbox" name="([^"]+)" checked', html):
        form[name] = "on"
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        form[name] = body
    for name, options in re.findall(r'<select id="[^"]+" name="([^"]+)">(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options)
        if chosen:
            form[name] = chosen.group(1)
    return form


@pytest.mark.signed_in("moderator")
def test_a_staff_member_picks_the_dashboards_language_on_their_profile(app, client, world):
    app.config["WTF_CSRF_ENABLED"] = False
    assert ">Queues</a>" in client.get("/mod/queue/pending").get_data(as_text=True)
    assert client.post("/mod/profile", data={"language": "uk"}).status_code == 302
    assert world.users["moderator"].language == "uk"
    page = client.get("/mod/queue/pending").get_data(as_text=True)
    assert '<html lang="uk">' in page and ">Черги</a>" in page and "Спочатку старіші" in page
    assert client.post("/mod/profile", data={"language": "xx"}).status_code == 400
    assert world.users["moderator"].language == "uk"
    client.post("/mod/profile", data={"language": "ja"})  # emails only: the dashboard stays English
    assert ">Queues</a>" in client.get("/mod/queue/pending", headers={"Accept-Language": "ja"}).get_data(as_text=True)


def test_a_staff_member_without_a_language_gets_the_browsers_dashboard_language(app, client, world):
    from tests.dashboard_support import sign_in

    sign_in(client, world.users["admin"])
    page = client.get("/mod/queue/pending", headers={"Accept-Language": "de-DE,de;q=0.9"}).get_data(as_text=True)
    assert ">Warteschlangen</a>" in page


def _build(app, **fields):
    with app.app_context():  # a job's fresh app context, as on the job runner
        return mail.build_message(mail.Mail(to="ann@example.com", **fields))


def test_an_email_is_rendered_in_its_language_even_in_a_fresh_job_context(app):
    from flask_babel import lazy_gettext

    message = _build(app, subject=lazy_gettext("Reset your password"), template="reset", language="uk",
                     context={"name": "Оля", "link": "https://c.example/r", "minutes": 60})
    assert message["Subject"] == "Скидання пароля"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Вітаємо, Оля!" in text and "протягом 60 хв" in text
    html = message.get_body(preferencelist=("html",)).get_content()
    assert 'lang="uk"' in html and "Вибрати новий пароль" in html
    arabic = _build(app, subject="x", template="verify", language="ar",
                    context={"name": "سارة", "link": "https://c.example/v", "hours": 48})
    assert 'dir="rtl"' in arabic.get_body(preferencelist=("html",)).get_content()


def test_digest_subject_and_body_use_the_languages_plural_forms(app):
    from flask_babel import lazy_ngettext

    for total, expected in ((1, "1 коментар чекає"), (3, "3 коментарі чекають"), (5, "5 коментарів чекають")):
        message = _build(app, subject=lazy_ngettext("%(num)d comment awaiting review", "%(num)d comments awaiting review", total),
                         template="digest", language="uk",
                         context={"name": "Ira", "items": [], "total": total, "queue_url": "https://c.example/q"})
        assert message["Subject"].startswith(expected)
        assert expected in message.get_body(preferencelist=("plain",)).get_content()


def test_reply_email_goes_out_in_the_readers_language_else_the_sites(app, monkeypatch):
    sent = []
    monkeypatch.setattr(mail, "send", lambda m: sent.append(mail.build_message(m)))
    site = make_site("news", language="fr")
    thread = make_thread(site, "story")
    ann = make_user("Ann", email="ann@example.com", email_verified=True, notify_replies=True)
    ivan = make_user("Ivan", email="ivan@example.com", email_verified=True, notify_replies=True, language="uk")
    for author in (ann, ivan):
        parent = make_comment(thread, author=author)
        reply = make_comment(thread, author=make_user("Bob"), parent=parent)
        notifications.send_reply_notification(reply.id, "https://c.example")
    assert [m["Subject"] for m in sent] == ["Bob a répondu à votre commentaire", "Bob відповідає на ваш коментар"]


def test_a_reader_registering_from_the_ukrainian_widget_gets_emails_in_ukrainian(app, client, monkeypatch):
    sent = []
    monkeypatch.setattr(mail, "send", lambda m: sent.append(mail.build_message(m)))
    app.config.update(PUBLIC_URL="https://comments.example", MAIL_DELIVERY="inline")
    make_site("news")
    body = {"email": "olya@example.com", "password": "a long password", "display_name": "Оля", "site": "news"}
    assert client.post("/api/v1/auth/register", json={**body, "language": "xx"}).status_code == 400
    assert client.post("/api/v1/auth/register", json={**body, "language": "uk"}).status_code == 202
    assert sent[-1]["Subject"] == "Завершіть створення облікового запису для коментарів"  # the sign-up link
    from sqlalchemy import select

    from discuss.identity import registration
    from discuss.models import PendingRegistration, User

    pending = db.session.scalar(select(PendingRegistration).where(PendingRegistration.email == "olya@example.com"))
    assert pending.language == "uk"  # the sign-up keeps the widget's language until its link is opened
    # Opening the emailed link makes the account, in that language (the token is only in the email).
    user = registration.confirm(registration.register("olya@example.com", "a long password", "Оля", "uk").token)
    assert db.session.get(User, user.id).language == "uk"
    from discuss.jobs import account_mail

    account_mail.send_reset(user.id, "token", "https://comments.example")  # any later mail: in Ukrainian
    assert sent[-1]["Subject"] == "Скидання пароля"



def test_the_comment_audit_staff_settings_and_stats_pages_speak_the_staff_members_language(app, client, world):
    _sign_in_speaking(client, world, "de")
    page = client.get(f"/mod/comments/{world.pending.id}").get_data(as_text=True)
    assert "Person sperren…" in page and "Titel und URL speichern" in page and "7 Tage" in page
    assert "Ban author" not in page and "Save title and URL" not in page
    assert '<span class="status-badge">ausstehend</span>' in page and '<span class="author-kind">Gast</span>' in page
    audit = client.get("/mod/audit").get_data(as_text=True)
    assert "Wann (UTC)" in audit and "Audit log" not in audit
    staff = client.get("/mod/staff").get_data(as_text=True)
    assert "Jemanden einladen" in staff and "Rolle und Websites" in staff and "Invite someone" not in staff
    settings = client.get(f"/mod/sites/{world.site.slug}/settings").get_data(as_text=True)
    assert "Maximale Antworttiefe" in settings and "Einstellungen speichern" in settings and "Noch keine Webhooks." in settings and "Save settings" not in settings
    stats = client.get(f"/mod/sites/{world.site.slug}/stats?replay=1&hold.toxicity=0.5").get_data(as_text=True)
    assert "Kommentare pro Tag" in stats and "Diese Schwellenwerte übernehmen" in stats and "Do the thresholds agree" not in stats
    assert "Kommentare pro Tag nach automatischem Ergebnis" in stats and "Comments per day" not in stats


def test_flash_messages_speak_the_staff_members_language_with_its_plural_forms(app, client, world):
    app.config["WTF_CSRF_ENABLED"] = False
    _sign_in_speaking(client, world, "uk")
    for days, expected in (("1", "на 1 день."), ("3", "на 3 дні."), ("7", "на 7 днів.")):
        page = client.post(f"/mod/authors/{world.author.id}/ban", data={"site_id": world.site.id, "days": days},
                           follow_redirects=True).get_data(as_text=True)
        assert expected in page and "Suspended" not in page


def test_the_sign_in_page_and_its_messages_speak_the_browsers_language(app, client):
    german = {"Accept-Language": "de"}
    redirected = client.get("/mod/queue/pending", headers=german, follow_redirects=True).get_data(as_text=True)
    assert '<html lang="de">' in redirected and "Passwort vergessen?" in redirected
    app.config["WTF_CSRF_ENABLED"] = False
    wrong = client.post("/auth/login", data={"email": "nobody@example.com", "password": "wrong password"}, headers=german)
    assert wrong.status_code == 401
    assert "passen zu keinem Teamkonto" in wrong.get_data(as_text=True)


def test_the_keyboard_scripts_messages_come_in_the_staff_members_language(app, client, world):
    import html
    import json
    import re

    _sign_in_speaking(client, world, "de")
    page = client.get("/mod/", follow_redirects=True).get_data(as_text=True)
    content = re.search(r'<meta name="dashboard-strings" content=\'([^\']*)\'>', page).group(1)
    strings = json.loads(html.unescape(content))
    assert strings["undone"] == "Rückgängig gemacht." and strings["undo"] == "Rückgängig"
    assert strings["comment_status"] == "Kommentar #{id}: {status}"  # moderate.js fills both in
    assert strings["statuses"]["rejected"] != "rejected"


# -- the dashboard after actions: errors from the domain and raw codes in the staff member's language --

def _shown_texts(page: str) -> set[str]:
    """What a staff member reads on the page (text and title/label/placeholder attributes), not
    what forms submit (option values, hidden inputs) nor the keyboard script's strings."""
    from lxml import html as lxml_html

    tree = lxml_html.fromstring(page)
    for hidden in tree.xpath("//script|//style|//meta"):
        hidden.drop_tree()
    texts = {" ".join(t.split()) for t in tree.xpath("//body//text()")}
    for attribute in ("title", "aria-label", "placeholder"):
        texts |= {" ".join(v.split()) for v in tree.xpath(f"//body//@{attribute}")}
    return {t for t in texts if t}


def _english_left(page: str, code: str) -> set[str]:
    """Texts on the page that are an English message the catalog translates differently, or a
    code staff should see a label for (an audit action, a reason, a report reason, a score label)."""
    from babel.messages.pofile import read_po

    from discuss.dashboard import labels

    with open(f"discuss/translations/{code}/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh)
    english = {m.id for m in catalog if isinstance(m.id, str) and m.string and m.string != m.id}
    codes = (set(labels.ACTION_LABELS) | set(labels.REPORT_REASON_LABELS) | set(labels.REJECT_REASON_LABELS)
             | set(labels.SCORE_LABELS) | set(labels.REASON_KINDS)
             | {"toxicity:insult", "premoderation:new_commenter", "reject:spam", "report:offensive"})
    found = _shown_texts(page)
    return {t for t in found if t in english or t in codes or t.rstrip(".") in codes}


@pytest.mark.parametrize("code, expected", [
    ("de", {"nothing": "Wählen Sie mindestens einen Kommentar aus.",
            "transition": "Nicht möglich: „freigeben“ bei einem Kommentar im Status „veröffentlicht“.",
            "note": "Notiz: höchstens 1000 Zeichen", "approve": "freigegeben", "ban": "vorübergehend gesperrt",
            "reject_reason": "von der Moderation abgelehnt: Spam", "held": "Vorabmoderation: neue kommentierende Person",
            "score": "Toxizitätswert: Beleidigung", "report": "anstößig", "now": "jetzt"}),
    ("uk", {"nothing": "Виберіть принаймні один коментар.",
            "transition": "Неможливо: «схвалити» для коментаря зі статусом «опубліковано».",
            "note": "Примітка: не більше 1000 символів", "approve": "схвалено", "ban": "тимчасово заблоковано",
            "reject_reason": "відхилено модератором: спам", "held": "попередня модерація: новий коментатор",
            "score": "оцінка токсичності: образа", "report": "образливе", "now": "щойно"}),
])
def test_the_dashboard_after_actions_has_no_english_left(app, client, world, code, expected):
    """Error flashes raised in the domain, the audit log's actions, reasons and statuses, and a
    queue's reasons and reports: all in the staff member's language; filters still submit codes."""
    app.config["WTF_CSRF_ENABLED"] = False
    world.users["admin"].display_name = "Olena"  # the factory names them "admin", a word the catalog has
    _sign_in_speaking(client, world, code)
    assert client.post(f"/api/v1/comments/{world.reported.id}/reports",
                       json={"reason": "offensive", "note": ""}).status_code == 201

    for queue in ("pending", "reported", "rejected"):
        page = client.get(f"/mod/queue/{queue}").get_data(as_text=True)
        assert not _english_left(page, code), (queue, _english_left(page, code))
    pending = client.get("/mod/queue/pending").get_data(as_text=True)
    assert expected["score"] in pending and "reason=toxicity:insult" in pending  # the label shown, the code linked
    assert expected["held"] in pending
    assert f" · {expected['now']}</a>" in pending and " · now</a>" not in pending  # when it was posted
    assert f'>{expected["report"]}</span>' in client.get("/mod/queue/reported").get_data(as_text=True)

    def act(url, **form):
        page = client.post(url, data={"next": "/mod/queue/all", **form}, follow_redirects=True).get_data(as_text=True)
        assert not _english_left(page, code), _english_left(page, code)
        return page

    assert expected["nothing"] in act("/mod/bulk", action="approve")
    assert expected["transition"] in act(f"/mod/comments/{world.published.id}/approve")
    assert expected["note"] in act(f"/mod/comments/{world.toxic.id}/reject", reason="spam", note="x" * 1001)
    act(f"/mod/comments/{world.pending.id}/reject", reason="spam")
    act(f"/mod/comments/{world.foreign_pending.id}/approve")
    act(f"/mod/authors/{world.author.id}/ban", site_id=world.site.id, days="7")

    audit = client.get("/mod/audit").get_data(as_text=True)
    assert not _english_left(audit, code), _english_left(audit, code)
    assert f'<option value="approve" >{expected["approve"]}</option>' in audit  # the filter submits the code
    for text in (expected["approve"], expected["ban"], expected["reject_reason"]):
        assert text in _shown_texts(audit) or any(text in t for t in _shown_texts(audit)), text
    filtered = client.get("/mod/audit?action=suspend").get_data(as_text=True)
    assert expected["ban"] in filtered and expected["approve"] + "</span>" not in filtered

    assert not _english_left(client.get("/mod/queue/all").get_data(as_text=True), code)
    assert expected["reject_reason"] in client.get(f"/mod/comments/{world.pending.id}").get_data(as_text=True)


@pytest.mark.parametrize("code, expected", [("en", ["now", "5m", "3h", "2d"]), ("de", ["jetzt", "5 Min.", "3 Std.", "2 Tg."]),
                                            ("uk", ["щойно", "5 хв", "3 год", "2 дн."])])
def test_dashboard_relative_times_speak_the_pages_language(app, code, expected):
    from datetime import timedelta

    from flask_babel import force_locale

    from discuss.dashboard.labels import when
    from discuss.models import utcnow

    with app.test_request_context("/mod/"), force_locale(code):
        now = utcnow()
        ages = (timedelta(seconds=5), timedelta(minutes=5), timedelta(hours=3), timedelta(days=2))
        assert [when(now - age) for age in ages] == expected
        assert when(now - timedelta(days=40)) == (now - timedelta(days=40)).strftime("%Y-%m-%d")


def test_a_refused_webhook_says_why_in_ukrainian(app, client, world):
    app.config["WTF_CSRF_ENABLED"] = False
    _sign_in_speaking(client, world, "uk")
    page = client.post(f"/mod/sites/{world.site.slug}/webhooks", data={"url": "ftp://example.com/hook",
                                                                        "events": ["comment.nope"]})
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "URL http:// або https:// з іменем хоста" in html and "невідомі події comment.nope" in html
    assert "with a host name" not in html and "unknown event" not in html


@pytest.mark.signed_in("admin")
def test_the_json_api_keeps_english_messages_for_a_german_staff_member(app, client, world):
    world.users["admin"].language = "de"
    db.session.commit()
    response = client.post(f"/api/v1/moderation/comments/{world.published.id}/actions", json={"action": "approve"},
                           headers={"Accept-Language": "de", "X-Requested-With": "fetch"})
    assert response.status_code == 409
    assert response.json["error"] == {"code": "invalid_transition",
                                      "message": "Cannot approve a comment that is published."}
    page = client.post(f"/mod/comments/{world.published.id}/approve", headers={"X-Requested-With": "fetch"},
                       data={"csrf_token": ""})
    assert page.json["error"]["message"] == "Cannot approve a comment that is published."  # fetch: JSON, codes


# -- the API's held and rejected answers in the reader's language --

def test_a_rejection_explained_in_ukrainian_keeps_its_codes(app, client, scorer):
    from tests.support.api import post_comment

    make_site(banned_words=["casino"], suspect_words=["crypto"], rejection_feedback="explain",
              reject_thresholds={"insult": 0.5}, toxicity_nudge=False)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "uk-UA,uk;q=0.9,en;q=0.5"
    rejected = post_comment(client, "Visit my casino!")
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert rejected.json["message"] == "Ваш коментар не опубліковано: він містить слово, яке цей сайт не дозволяє."
    assert rejected.json["reasons"] == ["banned_word"]  # the codes stay the same in every language
    hurtful = post_comment(client, "You idiot", name="Al")
    assert hurtful.json["message"] == "Ваш коментар не опубліковано: його оцінено як імовірно образливий."
    assert hurtful.json["reasons"] == ["toxicity:insult"]
    held = post_comment(client, "Ask me about crypto", name="Bo")
    assert held.status_code == 202 and held.json["message"] == "Дякуємо! Ваш коментар з’явиться після перевірки модератором."
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja;q=0.9, sw"
    assert post_comment(client, "Casino night", name="Cy").json["message"].startswith("コメントは公開されませんでした。")
    client.environ_base.pop("HTTP_ACCEPT_LANGUAGE")
    english = post_comment(client, "Casino nights", name="Di")
    assert english.json["message"] == "Your comment was not published: it contains a word this site does not allow."
