"""Queue health (stats): the pure counting on hand-made audit rows, then the API end to end."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from discuss.extensions import db
from discuss.models import CommentStatus, NudgeWarning, Role, Site
from discuss.moderation.funnel import FollowUp, WarningRow, nudge_funnel
from discuss.moderation.stats import EventRow, percentile, summarize, window
from tests.dashboard_support import make_staff, sign_in
from tests.factories import make_comment, make_site, make_thread, make_user
from tests.support.api import post_comment

DAY1 = datetime(2026, 12, 1, tzinfo=timezone.utc)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return DAY1 + timedelta(days=day - 1, hours=hour, minutes=minute)


def ev(id, comment, action, to, reasons=(), when=None, actor="pipeline", frm=None, staff=False):
    return EventRow(id, comment, action, actor, to, frm, tuple(reasons), when, staff)


EVENTS = [
    ev(1, 1, "create", "published", when=at(1, 10)),
    ev(2, 2, "create", "pending", ["toxicity:insult", "toxicity:toxicity"], at(1, 11)),
    ev(3, 3, "create", "pending", ["links:too_many"], at(2, 9)),
    ev(4, 4, "create", "rejected", ["banned_word"], at(2, 9, 30)),
    ev(5, 2, "approve", "published", when=at(2, 11), actor="staff:9", frm="pending", staff=True),   # 24 h
    ev(6, 3, "reject", "rejected", ["reject:spam"], at(2, 10), "staff:9", "pending", True),          # 1 h
    ev(7, 1, "hold", "pending", ["reports_threshold"], at(3, 8), "rule:reports_threshold", "published"),
    ev(8, 1, "reject", "rejected", ["reject:abuse"], at(3, 8, 30), "api:news", "pending", True),      # 30 min
    ev(9, 5, "approve", "published", when=at(3, 9), actor="staff:9", frm="pending", staff=True),     # undone
    ev(10, 5, "undo", "pending", when=at(3, 9, 1), actor="staff:9", frm="published", staff=True),
    ev(11, 1, "report", None, ["report:spam"], at(3, 7), "reader:4"),
]


def test_summarize_counts_each_outcome_on_its_day():
    reports = [at(1, 12), at(3, 1), at(3, 2), DAY1 - timedelta(hours=1)]
    days, reasons, seconds = summarize(EVENTS, reports, DAY1, 3, undone_ids={9})
    assert [d.as_json() for d in days] == [
        {"day": "2026-12-01", "published_auto": 1, "held_auto": {"toxicity:insult": 1}, "held_auto_total": 1,
         "rejected_auto": 0, "approved": 0, "rejected": 0, "removed": 0, "reports": 1},
        {"day": "2026-12-02", "published_auto": 0, "held_auto": {"links:too_many": 1}, "held_auto_total": 1,
         "rejected_auto": 1, "approved": 1, "rejected": 1, "removed": 0, "reports": 0},
        {"day": "2026-12-03", "published_auto": 0, "held_auto": {"reports_threshold": 1}, "held_auto_total": 1,
         "rejected_auto": 0, "approved": 0, "rejected": 1, "removed": 0, "reports": 2},
    ]
    assert reasons == {"toxicity:insult": 1, "toxicity:toxicity": 1, "links:too_many": 1, "banned_word": 1,
                       "reports_threshold": 1}
    assert sorted(seconds) == [1800, 3600, 86400]
    assert (percentile(seconds, 50), percentile(seconds, 90)) == (3600, 86400)


def test_percentile_is_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([5], 90) == 5
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50) == 5
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9
    assert percentile(list(range(1, 12)), 90) == 10


def test_window_covers_whole_days_up_to_now():
    since, until = window(3, datetime(2026, 12, 3, 15, 0, tzinfo=timezone.utc))
    assert since == DAY1 and until.hour == 15


def test_nudge_funnel_classifies_each_warning():
    t0 = at(1, 12)
    warnings = [WarningRow(1, "a", 5, None, t0), WarningRow(2, "a", None, "h", t0),
                WarningRow(3, "b", 6, None, t0), WarningRow(4, "b", 5, None, t0)]
    comments = [FollowUp("a", 5, "x", t0 - timedelta(minutes=1), False),   # before the warning: ignored
                FollowUp("a", 5, "x", t0 + timedelta(minutes=5), True),    # w1 rephrased
                FollowUp("a", 8, "h", t0 + timedelta(minutes=10), False),  # w2 (same IP) posted anyway
                FollowUp("b", 6, None, t0 + timedelta(minutes=45), True)]  # w3 too late: abandoned
    assert nudge_funnel(warnings, comments, abandon_minutes=30) == {
        "warned": 4, "rephrased": 1, "posted_anyway": 1, "abandoned": 2}


@pytest.fixture
def admin(app, client):
    make_site("news")
    make_site("sports")
    user = make_staff("admin@example.com", Role.ADMIN)
    sign_in(client, user)
    return user


def test_stats_api_counts_todays_traffic(client, admin):
    assert post_comment(client, "Fine words.").status_code == 201
    warning = post_comment(client, "You idiot").json["error"]                      # warned ...
    held = post_comment(client, "You idiot", acknowledge_warning=True, warning_token=warning["warning_token"])
    assert held.status_code == 202                                                 # ... posted anyway
    post_comment(client, "What a moron", article="article-2")                      # warned, abandoned
    assert db.session.scalar(select(func.count(NudgeWarning.id))) == 2
    response = client.post(f"/api/v1/moderation/comments/{held.json['comment']['id']}/actions",
                           json={"action": "reject", "reason": "abuse"})
    assert response.status_code == 200
    stats = client.get("/api/v1/moderation/sites/news/stats?days=7").get_json()
    assert len(stats["per_day"]) == 7
    today = stats["per_day"][-1]
    assert (today["published_auto"], today["held_auto"], today["rejected"]) == (
        1, {"toxicity:toxicity": 1}, 1)
    assert stats["totals"]["held_auto"] == 1 and stats["totals"]["approved"] == 0
    assert stats["pending"] == {"size": 0, "oldest_age_seconds": None}
    assert stats["time_to_decision"]["decisions"] == 1
    assert stats["top_reasons"][0] == {"reason": "toxicity:toxicity", "count": 1}
    assert stats["nudge_funnel"] == {"warned": 2, "rephrased": 0, "posted_anyway": 1, "abandoned": 1,
                                     "abandon_minutes": 30}


def test_stats_pending_queue_size_and_oldest_age(client, admin):
    site = make_site("local")
    thread = make_thread(site)
    old = make_comment(thread, status=CommentStatus.PENDING)
    old.status_changed_at = old.status_changed_at - timedelta(hours=5)
    db.session.commit()
    make_comment(thread, status=CommentStatus.PENDING)
    pending = client.get("/api/v1/moderation/sites/local/stats").get_json()["pending"]
    assert pending["size"] == 2 and 5 * 3600 <= pending["oldest_age_seconds"] < 5 * 3600 + 60


@pytest.mark.parametrize("days", ["0", "x", "366", "-3"])
def test_stats_refuses_bad_days(client, admin, days):
    response = client.get(f"/api/v1/moderation/sites/news/stats?days={days}")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "validation_failed"


def test_stats_are_scoped_to_the_moderators_sites(client, admin):
    sports = db.session.scalar(select(Site).where(Site.slug == "sports"))
    sign_in(client, make_staff("mod@example.com", Role.MODERATOR, [sports]))
    assert client.get("/api/v1/moderation/sites/news/stats").status_code == 404
    assert client.get("/api/v1/moderation/sites/sports/stats").status_code == 200
    sign_in(client, make_user("Reader"))
    assert client.get("/api/v1/moderation/sites/news/stats").status_code == 403


def test_automatic_publications_fall_on_their_utc_day(client, admin):
    from discuss.models import ModerationEvent, utcnow

    site = db.session.scalar(select(Site).where(Site.slug == "news"))
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    for moment in (today - timedelta(minutes=30), today + timedelta(minutes=1), today + timedelta(minutes=2)):
        db.session.add(ModerationEvent(site_id=site.id, actor_label="pipeline", action="create",
                                       to_status="published", created_at=moment))
    db.session.commit()
    per_day = client.get("/api/v1/moderation/sites/news/stats?days=2").get_json()["per_day"]
    assert [d["published_auto"] for d in per_day] == [1, 2]


def test_the_funnel_follows_warned_readers_by_account_and_guests_by_address(app):
    from discuss.moderation.stats import queue_health
    from discuss.models import utcnow

    site = make_site("news")
    thread = make_thread(site, "article-1")
    now = utcnow()
    reader, guest, bystander = make_user("Reader"), make_user("Guest"), make_user("Bystander")
    db.session.add_all([
        NudgeWarning(site_id=site.id, article_id="article-1", author_id=reader.id, created_at=now - timedelta(minutes=20)),
        NudgeWarning(site_id=site.id, article_id="article-1", author_id=None, ip_hash="h-guest",
                     created_at=now - timedelta(minutes=20)),
        NudgeWarning(site_id=site.id, article_id="article-1", author_id=None, ip_hash="h-quiet",
                     created_at=now - timedelta(minutes=20))])
    db.session.commit()
    make_comment(thread, reader, "Posted anyway", age=timedelta(minutes=19))
    make_comment(thread, guest, "Rephrased", age=timedelta(minutes=18), ip_hash="h-guest", rephrased_after_warning=True)
    make_comment(thread, bystander, "Someone else", age=timedelta(minutes=18))
    funnel = queue_health(site, 1, now)["nudge_funnel"]
    assert funnel == {"warned": 3, "rephrased": 1, "posted_anyway": 1, "abandoned": 1, "abandon_minutes": 30}
