"""Stored stats days: a closed day of queue health is computed once, kept in stats_day, and read back;
undo and imports forget the days they change, and no day still being written is ever stored."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from hypothesis import given, strategies as st
from sqlalchemy import func, select

from discuss.extensions import db
from discuss.models import CommentStatus, ModerationEvent, NudgeWarning, Role, StatsDay, utcnow
from discuss.moderation.stats import measure, percentile, queue_health, three_digits, window
from tests.dashboard_support import make_staff, sign_in
from tests.factories import make_comment, make_site, make_thread, make_user
from tests.support import portability as fx


def midnight(days_ago: int) -> datetime:
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago)


def event(site, action, to_status, when, comment_id=None, actor="pipeline", reasons=(), from_status=None,
          staff=None):
    row = ModerationEvent(site_id=site.id, action=action, actor_label=actor, to_status=to_status,
                          from_status=from_status, reasons=list(reasons), created_at=when, comment_id=comment_id,
                          actor_id=staff.id if staff else None)
    db.session.add(row)
    return row


def busy_week(site, staff):
    """Pipeline outcomes, decisions with round decision times, reports and nudges over six past days."""
    thread = make_thread(site, "article-1")
    reader = make_user("Reader")
    for days_ago in range(1, 7):
        day = midnight(days_ago)
        for i in range(days_ago):
            event(site, "create", "published", day + timedelta(hours=1, minutes=i))
        held = make_comment(thread, reader, f"Held {days_ago}", status=CommentStatus.PENDING)
        event(site, "create", "pending", day + timedelta(hours=2), held.id, reasons=["toxicity:insult"])
        decision = ("reject", "rejected") if days_ago % 2 else ("approve", "published")
        event(site, decision[0], decision[1], day + timedelta(hours=2, seconds=600 * days_ago + 1234), held.id,
              actor=f"staff:{staff.id}", from_status="pending", staff=staff)
        db.session.add(NudgeWarning(site_id=site.id, article_id="article-1", author_id=reader.id,
                                    created_at=day + timedelta(hours=3)))
    make_comment(thread, reader, "Rephrased", age=utcnow() - (midnight(2) + timedelta(hours=3, minutes=5)),
                 rephrased_after_warning=True)
    db.session.commit()


def live(site, days):
    """The same window read entirely from the audit trail."""
    since, until = window(days, utcnow())
    return measure(site.id, since, until)


def test_closed_days_are_stored_and_add_up_to_the_figures_read_from_the_audit_trail(app):
    site = make_site("news")
    busy_week(site, make_staff("admin@example.com", Role.ADMIN))
    expected = live(site, 7)
    first = queue_health(site, 7)
    assert db.session.scalar(select(func.count()).select_from(StatsDay)) == 6  # today stays live
    second = queue_health(site, 7)
    for stats in (first, second):
        assert [(d["day"], d["published_auto"], d["held_auto"], d["approved"], d["rejected"]) for d in stats["per_day"]] \
            == [(d.isoformat(), r.published_auto, r.held_auto, r.approved, r.rejected)
                for d, r in sorted(expected.days.items())]
        assert stats["totals"]["published_auto"] == 21 and stats["totals"]["held_auto"] == 6
        # stored days keep three significant digits (rounding keeps the order, so the same ranks)
        assert stats["time_to_decision"] == {"decisions": 6,
                                             "p50_seconds": three_digits(percentile(expected.seconds, 50)),
                                             "p90_seconds": three_digits(percentile(expected.seconds, 90))}
        assert stats["top_reasons"] == [{"reason": "toxicity:insult", "count": 6}]
        assert stats["nudge_funnel"] == {**{k: expected.funnel[k] for k in
                                            ("warned", "rephrased", "posted_anyway", "abandoned")},
                                         "abandon_minutes": 30}
        assert stats["nudge_funnel"]["warned"] == 6 and stats["nudge_funnel"]["rephrased"] == 1


def test_a_stored_day_is_read_back_instead_of_recounted(app):
    site = make_site("news")
    event(site, "create", "published", midnight(3) + timedelta(hours=9))
    db.session.commit()
    assert queue_health(site, 7)["per_day"][-4]["published_auto"] == 1
    # Written straight into the past, past every service (which would forget the day): not seen.
    event(site, "create", "published", midnight(3) + timedelta(hours=10))
    db.session.commit()
    assert queue_health(site, 7)["per_day"][-4]["published_auto"] == 1
    assert live(site, 7).days[midnight(3).date()].published_auto == 2


def test_undoing_a_past_decision_forgets_its_stored_day(app, client):
    site = make_site("news")
    admin = make_staff("admin@example.com", Role.ADMIN)
    sign_in(client, admin)
    held = make_comment(make_thread(site), status=CommentStatus.PENDING)
    assert client.post(f"/api/v1/moderation/comments/{held.id}/actions",
                       json={"action": "reject", "reason": "abuse"}).status_code == 200
    decision = db.session.scalar(select(ModerationEvent).where(ModerationEvent.action == "reject"))
    decision.created_at = midnight(2) + timedelta(hours=12)
    db.session.commit()
    before = client.get("/api/v1/moderation/sites/news/stats?days=7").get_json()["per_day"][-3]
    assert before["rejected"] == 1 and db.session.get(StatsDay, (site.id, midnight(2).date())) is not None
    assert client.post(f"/api/v1/moderation/events/{decision.id}/undo").status_code == 200
    after = client.get("/api/v1/moderation/sites/news/stats?days=7").get_json()["per_day"][-3]
    assert after["rejected"] == 0


def test_a_window_ending_in_the_future_stores_no_day_that_is_not_over(app):
    site = make_site("news")
    event(site, "create", "published", midnight(1) + timedelta(hours=9))
    db.session.commit()
    stats = queue_health(site, 5, utcnow() + timedelta(days=2))
    assert sum(d["published_auto"] for d in stats["per_day"]) == 1
    settled = (utcnow() - timedelta(minutes=30)).date()
    stored = list(db.session.scalars(select(StatsDay.day)))
    assert stored and max(stored) < settled


def test_an_import_forgets_the_sites_stored_days(app, tmp_path):
    site = make_site("news")
    event(site, "create", "published", midnight(3))
    db.session.commit()
    queue_health(site, 7)
    assert db.session.scalar(select(func.count()).select_from(StatsDay).where(StatsDay.site_id == site.id))
    archive = tmp_path / "archive.xml"
    archive.write_bytes(fx.disqus_xml(fx.scenario(("pending",))))
    result = app.test_cli_runner().invoke(args=["discuss", "import", "disqus", str(archive), "--site", "news"])
    assert result.exit_code == 0, result.output
    assert not db.session.scalar(select(func.count()).select_from(StatsDay).where(StatsDay.site_id == site.id))


@given(st.lists(st.floats(min_value=0, max_value=1e7, allow_nan=False), max_size=40),
       st.sampled_from([1, 50, 90, 99, 100]))
def test_percentile_of_counts_is_the_percentile_of_the_values(values, p):
    assert percentile(Counter(values), p) == percentile(values, p)


def test_stored_decision_times_keep_three_significant_digits():
    assert [three_digits(s) for s in (0.4, 59.6, 999.4, 1234.5, 86_399.0, 1_234_567.0)] == \
        [0.0, 60.0, 999.0, 1230.0, 86_400.0, 1_230_000.0]


def test_time_to_decision_counts_from_the_queue_entry_however_long_ago(app):
    site = make_site("news")
    staff = make_staff("admin@example.com", Role.ADMIN)
    held = make_comment(make_thread(site), status=CommentStatus.PENDING)
    event(site, "create", "pending", midnight(40), held.id, reasons=["links:too_many"])
    event(site, "approve", "published", midnight(1), held.id, actor=f"staff:{staff.id}", from_status="pending",
          staff=staff)
    db.session.commit()
    for _ in range(2):  # computed, then read back from the stored day
        waited = three_digits(39 * 86_400)  # 39 days, as a stored day keeps it: 3,370,000 s
        assert queue_health(site, 7)["time_to_decision"] == {"decisions": 1, "p50_seconds": waited,
                                                             "p90_seconds": waited}
