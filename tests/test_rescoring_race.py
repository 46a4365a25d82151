"""Two processes route the same waiting comment at once: exactly one wins (rescoring's ``_claim``).

PostgreSQL only: there the row lock (FOR UPDATE) lets the second run read the row again, but the comment it loaded
before scoring is still in its session with the old status, so only ``_claim``'s compare-and-set on status and
status_changed_at stops it. (SQLite serialises writers with a database lock: tests/test_core_promises.py.)
"""
from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import func, select

from discuss.extensions import db
from discuss.identity.staff import Actor
from discuss.models import Comment, CommentStatus, ModerationEvent, Role
from discuss.moderation.actions import apply_comment_action
from discuss.moderation.policy import SCORING_UNAVAILABLE
from tests.conftest import PG_URL
from tests.factories import make_comment, make_site, make_thread, make_user
from tests.support.race import route_in_own_process

pytestmark = pytest.mark.skipif(not PG_URL, reason="a two-process row race needs PostgreSQL "
                                                   "(DISCUSS_TEST_DATABASE_URL)")
WAIT_S = 90  # a spawned process imports the app before it scores; the machine may be busy


def _waiting(body: str = "A perfectly ordinary comment.") -> Comment:
    """A comment stored while the model was down: pending, waiting for a score."""
    thread = make_thread(make_site("news"))
    return make_comment(thread, body=body, status=CommentStatus.PENDING, reasons=[SCORING_UNAVAILABLE])


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
@pytest.mark.parametrize("body, routed", [("A perfectly ordinary comment.", "published"),
                                          ("What an idiot.", "pending")])
def test_two_workers_routing_the_same_comment_at_once_route_it_once(app, body, routed):
    waiting = _waiting(body)
    go, results, processes = _workers(app, waiting.id, 2)
    assert _finish(go, results, processes) == sorted([routed, "skipped"])
    assert _rescore_events(waiting.id) == 1


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
