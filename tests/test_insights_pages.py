"""Dashboard pages of moderation intelligence: stats with charts, replay and apply, the scorer
banner, undo buttons, and the new settings on the settings page."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from discuss.extensions import db
from discuss.models import Comment, CommentStatus, ModerationEvent
from discuss.scoring.runtime import EXTENSION_KEY, ScoringService
from tests.dashboard_support import sign_in


pytestmark = pytest.mark.signed_in("admin")  # the shared `world` fixture (conftest) signs this role in


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_stats_page_draws_svg_charts(client, world):
    html = page(client, "/mod/sites/news/stats?days=7")
    charts = re.findall(r'<svg class="chart"', html)
    assert len(charts) == 5
    assert "Do the thresholds agree with your moderators?" in html and "too few to trust" in html
    assert "<script" not in html.split("<body", 1)[1]          # no inline or chart script
    assert 'style="' not in html                                  # nothing the CSP would block


def test_replay_on_the_page_and_apply(client, world):
    html = page(client, "/mod/sites/news/stats?replay=1&hold.toxicity=0.5&hold.insult=0.9")
    assert 'class="replay-result"' in html and "Apply these thresholds" in html
    response = client.post("/mod/sites/news/thresholds", data={"hold.toxicity": "0.5", "hold.insult": "0.9",
                                                                "note": "replayed"})
    assert response.status_code == 302
    db.session.expire_all()
    assert world.site.effective_settings()["hold_thresholds"]["toxicity"] == 0.5
    event = db.session.scalar(select(ModerationEvent).where(ModerationEvent.action == "apply_thresholds"))
    assert event.note == "replayed" and event.details["old"]["hold_thresholds"]["toxicity"] == 0.8


def test_replay_with_bad_thresholds_shows_the_error_and_applies_nothing(client, world):
    html = page(client, "/mod/sites/news/stats?replay=1&hold.toxicity=abc")
    assert "hold.toxicity" in html and 'class="replay-result"' not in html
    client.post("/mod/sites/news/thresholds", data={"hold.toxicity": "7"})
    db.session.expire_all()
    assert world.site.effective_settings()["hold_thresholds"]["toxicity"] == 0.8


def test_moderators_see_stats_but_cannot_apply(client, world):
    sign_in(client, world.users["moderator"])
    html = page(client, "/mod/sites/news/stats?replay=1&hold.toxicity=0.5")
    assert "An admin can apply these thresholds." in html
    assert client.post("/mod/sites/news/thresholds", data={"hold.toxicity": "0.5"}).status_code == 403
    assert client.get("/mod/sites/sports/stats").status_code == 404


def test_no_banner_while_the_scorer_is_ready(client, world):
    assert "scorer-banner" not in page(client, "/mod/queue/pending")


@pytest.mark.parametrize("url", ["/mod/queue/pending", "/mod/audit", "/mod/sites/news/settings",
                                 "/mod/sites/news/stats"])
def test_banner_on_every_page_when_the_model_failed(app, client, world, url):
    def loader():
        raise FileNotFoundError("no weights at /models/unbiased.ckpt")

    failed = ScoringService(loader, "unbiased")
    failed._load()
    app.extensions[EXTENSION_KEY] = failed
    html = page(client, url)
    assert "scorer-banner scorer-failed" in html
    assert "FileNotFoundError: no weights at /models/unbiased.ckpt" in html and "scoring_unavailable" in html


def test_queue_action_answers_with_its_undo_link_and_undo_restores(client, world):
    response = client.post(f"/mod/comments/{world.toxic.id}/reject", data={"reason": "abuse"},
                           headers={"X-Requested-With": "fetch"})
    body = response.get_json()
    assert body["status"] == "rejected" and body["undo_url"].endswith(f"/mod/events/{body['event_id']}/undo")
    undone = client.post(body["undo_url"], headers={"X-Requested-With": "fetch"}).get_json()
    assert undone["status"] == "pending" and undone["comment_id"] == world.toxic.id
    db.session.expire_all()
    assert db.session.get(Comment, world.toxic.id).status is CommentStatus.PENDING


def test_audit_log_offers_undo_once(client, world):
    client.post(f"/mod/comments/{world.pending.id}/approve")
    event = db.session.scalar(select(ModerationEvent).where(ModerationEvent.action == "approve"))
    html = page(client, "/mod/audit")
    assert f'/mod/events/{event.id}/undo' in html
    assert client.post(f"/mod/events/{event.id}/undo", data={"next": "/mod/audit"}).status_code == 302
    html = page(client, "/mod/audit")
    assert f'/mod/events/{event.id}/undo' not in html and ">undone<" in html
    again = client.post(f"/mod/events/{event.id}/undo", headers={"X-Requested-With": "fetch"})
    assert again.status_code == 409


def test_settings_page_has_the_report_and_close_settings(client, world):
    html = page(client, "/mod/sites/news/settings")
    assert 'name="auto_hold_reports"' in html and 'name="auto_close_days"' in html


def test_bulk_action_can_be_undone_from_the_queue_for_ten_seconds(client, world, monkeypatch):
    import discuss.dashboard.views as views

    ids = [world.pending.id, world.toxic.id]
    client.post("/mod/bulk", data={"ids": [str(i) for i in ids], "action": "reject", "reason": "spam"})
    html = page(client, "/mod/queue/rejected")
    assert 'action="/mod/bulk/undo"' in html and "Rejected: 2 comments" in html
    response = client.post("/mod/bulk/undo", data={"next": "/mod/queue/pending"})
    assert response.status_code == 302
    db.session.expire_all()
    assert [db.session.get(Comment, i).status for i in ids] == [CommentStatus.PENDING] * 2
    assert db.session.query(ModerationEvent).filter_by(action="undo").count() == 2

    client.post("/mod/bulk", data={"ids": [str(i) for i in ids], "action": "reject", "reason": "spam"})
    later = views.time.time() + 11
    monkeypatch.setattr(views.time, "time", lambda: later)
    assert 'action="/mod/bulk/undo"' not in page(client, "/mod/queue/rejected")
    client.post("/mod/bulk/undo")
    db.session.expire_all()
    assert [db.session.get(Comment, i).status for i in ids] == [CommentStatus.REJECTED] * 2
