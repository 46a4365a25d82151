"""Edges of the moderation policy and rescoring that mutation testing (mutmut, see setup.cfg) showed untested.

Each test pins a behaviour behind a core promise: which comments rescoring may touch, the status and hold
reasons it leaves, who counts as a new commenter, and the audit row of every automatic decision.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from discuss.extensions import db
from discuss.models import Comment, CommentStatus, ModerationEvent
from discuss.scoring.runtime import ScoringService
from discuss.moderation.policy import SCORING_UNAVAILABLE
from discuss.moderation.rescoring import rescore_pending, score_and_route
from tests.factories import make_comment, make_site, make_thread, make_user, token_for
from tests.support.api import post_comment
from tests.support.scorers import FakeScorer

NOTHING = {"published": 0, "pending": 0, "rejected": 0, "skipped": 0, "failed": 0}


def use_scorer(app, scorer: FakeScorer) -> FakeScorer:
    app.extensions["discuss.scoring"] = ScoringService.from_scorer(scorer)
    return scorer


def held(thread, body: str = "Calm words.", reasons: list[str] | None = None, **fields) -> Comment:
    return make_comment(thread, make_user(), body, status=CommentStatus.PENDING,
                        reasons=reasons or [SCORING_UNAVAILABLE], **fields)


def reload(comment: Comment) -> Comment:
    db.session.expire_all()
    return db.session.get(Comment, comment.id)


@pytest.mark.parametrize("status", [CommentStatus.REJECTED, CommentStatus.DELETED, CommentStatus.PUBLISHED])
def test_rescoring_only_ever_picks_up_pending_comments(app, status):
    """Whatever reasons a row carries, rescoring neither scores nor moves a comment that is not pending."""
    row = make_comment(make_thread(make_site()), body="Words.", status=status, reasons=[SCORING_UNAVAILABLE])
    scorer = use_scorer(app, FakeScorer())
    assert rescore_pending() == NOTHING
    assert score_and_route(row.id) == "skipped"
    assert scorer.calls == [] and reload(row).status is status


def test_queue_worker_does_not_even_score_a_comment_it_will_not_route(app):
    decided = held(make_thread(make_site()), moderator_decided=True)
    scorer = use_scorer(app, FakeScorer())
    assert score_and_route(decided.id) == "skipped" and scorer.calls == []


def test_rescoring_routes_every_waiting_comment_across_batches_and_counts_each(app):
    thread = make_thread(make_site())
    comments = [held(thread, f"Calm words number {n}.") for n in range(3)] + [held(thread, "You idiot.")]
    scorer = use_scorer(app, FakeScorer())
    assert rescore_pending(batch_size=2) == {**NOTHING, "published": 3, "pending": 1}
    assert [len(batch) for batch in scorer.calls] == [2, 2]
    assert [reload(c).status for c in comments] == [CommentStatus.PUBLISHED] * 3 + [CommentStatus.PENDING]


def test_a_failing_batch_is_counted_and_the_next_batches_still_run(app):
    thread = make_thread(make_site())
    first, second, third = (held(thread, f"Calm words number {n}.") for n in range(3))

    class FailsFirstBatch(FakeScorer):
        def score_batch(self, texts):
            self.fail = not self.calls
            return super().score_batch(texts)

    use_scorer(app, FailsFirstBatch())
    assert rescore_pending(batch_size=1) == {**NOTHING, "published": 2, "failed": 1}
    assert reload(first).status is CommentStatus.PENDING  # kept, for the next run
    assert reload(second).status is reload(third).status is CommentStatus.PUBLISHED


def test_two_waiting_comments_changed_in_the_same_instant_are_both_routed(app):
    """The claim is per comment: another row with the same timestamp must not make it fail."""
    moment = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)
    thread = make_thread(make_site())
    pair = [held(thread, f"Calm words {n}.", status_changed_at=moment) for n in range(2)]
    use_scorer(app, FakeScorer())
    assert rescore_pending() == {**NOTHING, "published": 2}
    assert {reload(c).status for c in pair} == {CommentStatus.PUBLISHED}


def test_rescoring_applies_the_word_rules_to_the_comment_text(app):
    site = make_site(banned_words=["pills"], suspect_words=["crypto"])
    thread = make_thread(site)
    spam, suspect = held(thread, "Buy cheap pills now."), held(thread, "Ask me about crypto.")
    use_scorer(app, FakeScorer())
    assert rescore_pending() == {**NOTHING, "rejected": 1, "pending": 1}
    assert (reload(spam).status, reload(spam).reasons) == (CommentStatus.REJECTED, ["banned_word"])
    assert (reload(suspect).status, reload(suspect).reasons) == (CommentStatus.PENDING, ["suspect_word"])


def test_a_thread_closed_while_a_comment_waited_does_not_reject_it(app):
    """The comment was accepted before the thread closed: rescoring routes it by its scores."""
    thread = make_thread(make_site(), is_closed=True)
    waiting = held(thread)
    use_scorer(app, FakeScorer())
    assert rescore_pending() == {**NOTHING, "published": 1}
    assert reload(waiting).status is CommentStatus.PUBLISHED


def test_rescoring_replaces_stale_hold_reasons_and_keeps_the_others(app):
    """Hold reasons the rules produce are recomputed with today's settings; other notes are kept."""
    thread = make_thread(make_site())  # premoderation, link and word rules all off now
    stale = ["toxicity:insult", "premoderation:site", "links:too_many", "suspect_word"]
    waiting = held(thread, reasons=[SCORING_UNAVAILABLE, *stale, "nudge:acknowledged"])
    use_scorer(app, FakeScorer())
    assert rescore_pending() == {**NOTHING, "published": 1}
    waiting = reload(waiting)
    assert (waiting.status, waiting.reasons) == (CommentStatus.PUBLISHED, ["nudge:acknowledged"])


def test_rescoring_keeps_reasons_the_rules_still_give(app):
    site = make_site(premoderation="all")
    waiting = held(make_thread(site), "You idiot.", reasons=[SCORING_UNAVAILABLE, "premoderation:site"])
    use_scorer(app, FakeScorer())
    rescore_pending()
    waiting = reload(waiting)
    assert (waiting.status, waiting.reasons) == (
        CommentStatus.PENDING, ["toxicity:toxicity", "toxicity:insult", "premoderation:site"])


def test_every_rescoring_decision_is_audited(app):
    waiting = held(make_thread(make_site()), "You idiot.")
    use_scorer(app, FakeScorer())
    rescore_pending()
    [event] = db.session.scalars(select(ModerationEvent).where(ModerationEvent.comment_id == waiting.id))
    assert (event.action, event.actor_label, event.from_status, event.to_status) == (
        "rescore", "pipeline", "pending", "pending")
    assert event.reasons == ["toxicity:toxicity", "toxicity:insult"]
    assert event.details["scores"]["insult"] == 0.88


# --- who is a new commenter (premoderation) --------------------------------------------------------------------

@pytest.fixture
def newcomer_site(app):
    return make_site(premoderation="new_commenters", new_commenter_approved_min=1)


def _post_as(client, user, body="Hello there."):
    return post_comment(client, body, token=token_for(user)["Authorization"][7:])


def test_a_known_author_with_no_published_comment_is_a_new_commenter(client, newcomer_site):
    reader = make_user("Fresh")  # a returning guest
    response = _post_as(client, reader)
    assert response.status_code == 202
    assert db.session.get(Comment, response.json["comment"]["id"]).reasons == ["premoderation:new_commenter"]


@pytest.mark.parametrize("history", ["pending-here", "published-elsewhere", "someone-else-published"])
def test_only_the_authors_own_published_comments_on_this_site_count(client, newcomer_site, history):
    reader = make_user("Fresh")  # a returning guest
    if history == "pending-here":
        make_comment(make_thread(newcomer_site, "older"), reader, status=CommentStatus.PENDING)
    elif history == "published-elsewhere":
        make_comment(make_thread(make_site("sports"), "older"), reader)
    else:
        make_comment(make_thread(newcomer_site, "older"), make_user("Regular"))
    assert _post_as(client, reader).status_code == 202  # still held


def test_one_published_comment_on_this_site_makes_a_regular(client, newcomer_site):
    reader = make_user("Known")
    make_comment(make_thread(newcomer_site, "older"), reader)
    assert _post_as(client, reader).status_code == 201


# --- found by the mutation run of Dec 2026 (setup.cfg [mutmut]) -------------------------------------------------

def test_a_comment_whose_routing_write_the_database_refuses_is_skipped_and_the_run_goes_on(app, monkeypatch):
    """SQLite refuses a stale write when another process routed the comment first: that comment counts as
    skipped, it stays as the other process left it, and the rest of the run is still routed."""
    from sqlalchemy.exc import OperationalError

    from discuss.moderation import rescoring

    thread = make_thread(make_site())
    refused, routed = held(thread, "Calm words one."), held(thread, "Calm words two.")
    real = rescoring._route_scored

    def refuse_the_first(comment_id, scores):
        if comment_id == refused.id:
            db.session.execute(select(Comment.id))  # a transaction in progress, as when the write failed
            raise OperationalError("UPDATE comments ...", {}, Exception("database is locked"))
        return real(comment_id, scores)

    monkeypatch.setattr(rescoring, "_route_scored", refuse_the_first)
    use_scorer(app, FakeScorer())
    assert rescore_pending() == {**NOTHING, "published": 1, "skipped": 1}
    assert reload(refused).status is CommentStatus.PENDING and reload(refused).reasons == [SCORING_UNAVAILABLE]
    assert reload(routed).status is CommentStatus.PUBLISHED


def test_the_claim_refuses_a_comment_that_left_pending_even_if_its_timestamp_did_not_move(app):
    """Defence in depth behind a moderator's decision: a run holding a stale copy of a waiting comment must not
    route it once it is no longer pending, even when the decision carries the same status_changed_at (two
    servers' clocks), so only the claim's status check can tell."""
    from sqlalchemy import update

    from discuss.moderation.rescoring import route_scored

    waiting = held(make_thread(make_site()), "Calm words.")
    stale = db.session.get(Comment, waiting.id)  # loaded before scoring, as score_and_route does
    assert stale.status is CommentStatus.PENDING
    table = Comment.__table__
    with db.engine.begin() as moderator:  # rejected by a moderator, stamped with the same instant
        moderator.execute(update(table).where(table.c.id == waiting.id).values(
            status=CommentStatus.REJECTED, moderator_decided=True, reasons=["moderator:spam"]))
    assert route_scored(waiting.id, {"toxicity": 0.01, "insult": 0.01}) == "skipped"
    db.session.rollback()
    decided = db.session.get(Comment, waiting.id)
    assert (decided.status, decided.reasons) == (CommentStatus.REJECTED, ["moderator:spam"])
    assert not db.session.scalars(select(ModerationEvent).where(ModerationEvent.comment_id == waiting.id,
                                                                ModerationEvent.action == "rescore")).all()


def test_the_sweepers_cut_off_routes_only_comments_that_waited_since_it_and_leaves_fresh_ones(app):
    """``rescore_pending(waiting_since=...)`` is the sweeper's pass: a comment held since the cut-off (or
    exactly at it) is routed; one held after it is left to the scoring job still in flight."""
    cut_off = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)
    thread = make_thread(make_site())
    old, at_cut_off, fresh = (held(thread, f"Calm words {n}.", status_changed_at=cut_off + timedelta(seconds=delta))
                              for n, delta in enumerate((-60, 0, 60)))
    use_scorer(app, FakeScorer())
    assert rescore_pending(waiting_since=cut_off) == {**NOTHING, "published": 2}
    assert [reload(c).status for c in (old, at_cut_off, fresh)] == [
        CommentStatus.PUBLISHED, CommentStatus.PUBLISHED, CommentStatus.PENDING]


def test_every_failing_batch_is_counted_and_every_comment_stays_held(app):
    thread = make_thread(make_site())
    waiting = [held(thread, f"Calm words {n}.") for n in range(3)]
    use_scorer(app, FakeScorer(fail=True))
    assert rescore_pending(batch_size=1) == {**NOTHING, "failed": 3}
    assert {reload(c).status for c in waiting} == {CommentStatus.PENDING}


def test_subscribing_after_the_model_is_ready_still_routes_the_comments_already_waiting(app):
    """The CLI and workers load the model before they subscribe: the comments waiting then must not wait for a
    'ready' that already happened."""
    import time

    from discuss.moderation.rescoring import install_auto_rescore

    waiting = held(make_thread(make_site()))
    use_scorer(app, FakeScorer())  # ready already
    install_auto_rescore(app)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and reload(waiting).status is CommentStatus.PENDING:
        time.sleep(0.05)
    assert reload(waiting).status is CommentStatus.PUBLISHED
