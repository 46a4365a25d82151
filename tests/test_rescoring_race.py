"""Two runs route the same waiting comment at once: exactly one wins (rescoring's ``_claim``).

The two-process tests need PostgreSQL: there the row lock (FOR UPDATE) lets the second run read the row again, but
the comment it loaded before scoring is still in its session with the old status, so only ``_claim``'s
compare-and-set on status and status_changed_at stops it. The first test shows the same stale copy in one
process, on either database (and is in mutmut's test selection, which runs on SQLite).
"""
from __future__ import annotations

import multiprocessing
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from discuss.extensions import db
from discuss.identity.staff import Actor
from discuss.models import Comment, CommentStatus, ModerationEvent, Role, utcnow
from discuss.moderation.actions import apply_comment_action
from discuss.moderation.policy import SCORING_UNAVAILABLE
from discuss.moderation.rescoring import route_scored
from discuss.scoring.base import CORE_LABELS
from tests.conftest import PG_URL
from tests.factories import make_comment, make_site, make_thread, make_user
from tests.support.race import route_in_own_process

two_processes = pytest.mark.skipif(not PG_URL, reason="a two-process row race needs PostgreSQL "
                                                      "(DISCUSS_TEST_DATABASE_URL)")
WAIT_S = 90  # a spawned process imports the app before it scores; the machine may be busy


def _waiting(body: str = "A perfectly ordinary comment.") -> Comment:
    """A comment stored while the model was down: pending, waiting for a score."""
    thread = make_thread(make_site("news"))
    return make_comment(thread, body=body, status=CommentStatus.PENDING, reasons=[SCORING_UNAVAILABLE])


def test_a_run_holding_a_stale_copy_routes_nothing_once_another_run_held_it_again(app):
    waiting = _waiting("What an idiot.")
    stale = db.session.get(Comment, waiting.id)  # loaded before scoring, as score_and_route does
    assert stale.status is CommentStatus.PENDING
    table = Comment.__table__
    with db.engine.begin() as first_run:  # meanwhile another run routed it: held again, so still PENDING
        first_run.execute(update(table).where(table.c.id == waiting.id).values(
            reasons=["toxicity:insult"], status_changed_at=utcnow() + timedelta(seconds=1)))
    assert route_scored(waiting.id, {label: 0.01 for label in CORE_LABELS}) == "skipped"
    db.session.rollback()
    comment = db.session.get(Comment, waiting.id)
    assert comment.status is CommentStatus.PENDING and comment.reasons == ["toxicity:insult"]
    assert _rescore_events(waiting.id) == 0


def _workers(app, comment_id: int, count: int):
    context = multiprocessing.get_context("spawn")
    go, results = context.Event(), context.Queue()
    scoring = [context.Event() for _ in range(count)]
    processes = [context.Process(target=route_in_own_process, daemon=True,
                                 args=(app.config["SQLALCHEMY_DATABASE_URI"], comment_id, scoring[i], go, results))
                 for i in range(count)]
    for process in processes:
        process.start()
    for event in scoring:
        assert event.wait(WAIT_S), "a worker never reached the scorer"
    return go, results, processes


def _finish(go, results, processes) -> list[str]:
    go.set()
    outcomes = [results.get(timeout=WAIT_S) for _ in processes]
    for process in processes:
        process.join(WAIT_S)
    return sorted(outcomes)


def _rescore_events(comment_id: int) -> int:
    db.session.rollback()  # see the other processes' commits
    return db.session.scalar(select(func.count(ModerationEvent.id)).where(
        ModerationEvent.comment_id == comment_id, ModerationEvent.action == "rescore"))


# A comment the rules hold stays PENDING after the first worker routes it: then only the timestamp tells the
# second worker that it lost.
@two_processes
@pytest.mark.parametrize("body, routed", [("A perfectly ordinary comment.", "published"),
                                          ("What an idiot.", "pending")])
def test_two_workers_routing_the_same_comment_at_once_route_it_once(app, body, routed):
    waiting = _waiting(body)
    go, results, processes = _workers(app, waiting.id, 2)
    assert _finish(go, results, processes) == sorted([routed, "skipped"])
    assert _rescore_events(waiting.id) == 1


@two_processes
def test_a_moderator_deciding_while_a_worker_scores_wins_over_the_worker(app):
    waiting = _waiting()
    go, results, processes = _workers(app, waiting.id, 1)
    moderator = make_user("Chief", role=Role.ADMIN)
    apply_comment_action(Actor.for_user(moderator), db.session.get(Comment, waiting.id), "reject", reason="spam")
    assert _finish(go, results, processes) == ["skipped"]
    db.session.rollback()
    comment = db.session.get(Comment, waiting.id)
    assert comment.status is CommentStatus.REJECTED and comment.moderator_decided
    assert _rescore_events(waiting.id) == 0
