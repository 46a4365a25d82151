"""Webhooks on the site settings page: admins list, add (secret shown once), test, see the
delivery log and remove; moderators cannot."""
from __future__ import annotations

import re

import pytest

from discuss.jobs import webhooks
from discuss.models import Role
from tests.dashboard_support import make_staff, sign_in
from tests.factories import make_site
from tests.support.webhook_receiver import receiver  # noqa: F401  (fixture)


@pytest.fixture
def page_app(make_app):
    app = make_app(WEBHOOK_RETRY_BASE_SECONDS=0.05, WEBHOOK_MAX_ATTEMPTS=5)
    with app.app_context():
        yield app


def test_an_admin_manages_webhooks_on_the_settings_page(page_app, receiver):
    site = make_site("news", webhooks_allow_private=True)
    client = page_app.test_client()
    sign_in(client, make_staff("chief@news.example.com", Role.ADMIN))
    page = client.get("/mod/sites/news/settings").get_data(as_text=True)
    title, _, body = page.partition("</title>")
    assert 'id="webhooks"' not in title  # the panel is in the page, not in its <title>
    assert 'id="webhooks"' in body and "No webhooks yet." in body and "Nothing delivered yet." in body

    added = client.post("/mod/sites/news/webhooks", data={"url": receiver.url, "format": "json",
                                                          "events": ["comment.held", "comment.reported"]})
    html = added.get_data(as_text=True)
    assert added.status_code == 200
    secret = re.search(r'id="new-webhook-secret" aria-label="Webhook signing secret"', html) and \
        re.search(r'value="(whsec_[\w-]+)"', html).group(1)
    [hook] = webhooks.site_webhooks(site)
    assert hook.secret == secret and hook.events == ["comment.held", "comment.reported"]
    again = client.get("/mod/sites/news/settings").get_data(as_text=True)
    assert secret not in again and receiver.url in again  # listed, secret never shown again

    receiver.secret = secret
    sent = client.post(f"/mod/sites/news/webhooks/{hook.id}/test")
    assert sent.status_code == 302
    [item] = receiver.wait_for(1)
    assert item.event == "webhook.test" and receiver.signature_ok(item)
    import time
    for _ in range(100):
        log = client.get("/mod/sites/news/settings").get_data(as_text=True)
        if "result-delivered" in log:
            break
        time.sleep(0.05)
    assert "webhook.test" in log and 'class="result-delivered">delivered' in log

    removed = client.post(f"/mod/sites/news/webhooks/{hook.id}/delete")
    assert removed.status_code == 302 and webhooks.site_webhooks(site) == []


def test_a_refused_url_is_explained_and_nothing_is_stored(page_app):
    site = make_site("news")
    client = page_app.test_client()
    sign_in(client, make_staff("chief@news.example.com", Role.ADMIN))
    refused = client.post("/mod/sites/news/webhooks", data={"url": "http://169.254.169.254/latest", "format": "json"})
    assert refused.status_code == 400
    assert "link-local" in refused.get_data(as_text=True) and webhooks.site_webhooks(site) == []


def test_moderators_cannot_manage_webhooks(page_app, receiver):
    site = make_site("news", webhooks_allow_private=True)
    client = page_app.test_client()
    sign_in(client, make_staff("mod@news.example.com", Role.MODERATOR, sites=[site]))
    assert client.post("/mod/sites/news/webhooks", data={"url": receiver.url}).status_code == 403
    assert webhooks.site_webhooks(site) == []


def test_the_private_address_setting_is_saved_from_the_settings_form(page_app):
    site = make_site("news")
    client = page_app.test_client()
    sign_in(client, make_staff("chief@news.example.com", Role.ADMIN))
    page = client.get("/mod/sites/news/settings").get_data(as_text=True)
    assert 'name="webhooks_allow_private"' in page
    assert site.effective_settings()["webhooks_allow_private"] is False
