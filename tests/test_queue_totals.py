"""Stored queue totals (queue_total, kept by triggers) equal a real COUNT after every kind of status change.

Each step below goes through the app's own write path; after each one the stored per-site, per-status
totals must equal counting the comment table. Dropping any of the three triggers (insert, status
update, delete) makes this fail at the first step of that kind.
"""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import delete, func, select, text, update

from discuss.comments.posting import NewComment, delete_comment, post_comment
from discuss.comments.privacy import delete_account
from discuss.comments.reactions import report
from discuss.extensions import db
from discuss.identity.staff import Actor
from discuss.models import Comment, CommentStatus, ModerationEvent, QueueTotal, Role, Thread, User
from discuss.models.totals import SHARDS
from discuss.moderation import actions
from discuss.moderation.actions import apply_bulk_action, apply_comment_action, ban_author
from discuss.moderation.policy import SCORING_QUEUED
from discuss.moderation.queues import queue_counts
from discuss.moderation.rescoring import route_scored
from discuss.moderation.undo import undo_event
from tests.conftest import PG_URL
from tests.dashboard_support import make_staff
from tests.factories import make_comment, make_site, make_thread, make_user
from tests.support import portability as fx
from tests.test_scale_queries import scratch_database  # noqa: F401 (a fixture)


def _stored() -> dict[tuple[int, str], int]:
    rows = db.session.execute(select(QueueTotal.site_id, QueueTotal.status, func.sum(QueueTotal.n))
                              .group_by(QueueTotal.site_id, QueueTotal.status))
    return {(site, status): int(n) for site, status, n in rows if n}


def _counted() -> dict[tuple[int, str], int]:
    rows = db.session.execute(select(Thread.site_id, Comment.status, func.count())
                              .join(Thread, Thread.id == Comment.thread_id)
                              .group_by(Thread.site_id, Comment.status))
    return {(site, status.name): int(n) for site, status, n in rows}


def _check(step: str) -> None:
    db.session.rollback()  # read what was committed, as the next request would
    assert _stored() == _counted(), step


def _post(site_slug: str, body: str, article: str = "a-1") -> Comment:
    result = post_comment(NewComment(site=site_slug, article=article, body=body, author_name="Guest"))
    return db.session.get(Comment, result.comment["id"])


def _latest_event(action: str) -> ModerationEvent:
    return db.session.scalar(select(ModerationEvent).where(ModerationEvent.action == action)
                             .order_by(ModerationEvent.id.desc()).limit(1))


def test_stored_totals_equal_a_real_count_after_every_kind_of_status_change(app, tmp_path):
    site = make_site("news", banned_words=["spamword"], auto_hold_reports=1, account_deletion_policy="remove")
    held = make_site("held", premoderation="all")
    admin = Actor.for_user(make_user("Admin", role=Role.ADMIN))
    _check("empty")

    published = _post("news", "A fine comment.")
    _check("post, published")
    _post("news", "Buy spamword now.")
    _check("post, rejected by a rule")
    pending = [_post("held", f"Held comment {i}.", article=f"h-{i}") for i in range(4)]
    _check("post, held for premoderation")

    apply_comment_action(admin, db.session.get(Comment, pending[0].id), "approve")
    _check("approve")
    apply_comment_action(admin, db.session.get(Comment, pending[1].id), "reject", reason="spam")
    _check("reject")
    apply_comment_action(admin, db.session.get(Comment, published.id), "remove", reason="abuse")
    _check("remove")
    apply_comment_action(admin, db.session.get(Comment, published.id), "restore")
    _check("restore")
    apply_bulk_action(admin, [pending[2].id, pending[3].id, pending[0].id], "reject", reason="spam")
    _check("bulk reject")
    undo_event(admin, _latest_event("reject").id)
    _check("undo")

    author = make_user("Banned")
    thread = make_thread(site, "ban-1")
    for i in range(3):
        make_comment(thread, author, f"Queued {i}", status=CommentStatus.PENDING)
    _check("factory inserts")
    ban_author(admin, site.id, author.id, reject_pending=True)
    _check("ban, rejecting the author's queue")
    undo_event(admin, _latest_event("ban").id)
    _check("undo ban")

    reported = _post("news", "Reported soon.")
    report(reported.id, None, "abuse", None, "ip-1")
    assert db.session.get(Comment, reported.id).status is CommentStatus.PENDING
    _check("auto-hold on reports")

    waiting = make_comment(thread, body="Waiting for its score", status=CommentStatus.PENDING,
                           reasons=[SCORING_QUEUED])
    assert route_scored(waiting.id, {"toxicity": 0.01}) == "published"
    _check("rescoring")

    mine = make_user("Writer")
    own = make_comment(thread, mine, "Mine to delete")
    delete_comment(own.id, mine)
    _check("author deletes")

    leaver = make_user("Leaver")
    make_comment(thread, leaver, "Gone with the account")
    make_comment(thread, leaver, "Held and gone", status=CommentStatus.PENDING)
    delete_account(db.session.get(User, leaver.id))
    _check("privacy delete")

    archive = tmp_path / "archive.xml"
    archive.write_bytes(fx.disqus_xml(fx.scenario(("pending", "spam", "deleted"))))
    result = app.test_cli_runner().invoke(args=["discuss", "import", "disqus", str(archive), "--site", "news"])
    assert result.exit_code == 0, result.output
    _check("import")

    export = tmp_path / "site.jsonl"
    assert app.test_cli_runner().invoke(args=["discuss", "export", "news", "--output", str(export)]).exit_code == 0
    result = app.test_cli_runner().invoke(args=["discuss", "import", "discuss", str(export), "--site", "copy"])
    assert result.exit_code == 0, result.output
    _check("restore into a new site")

    db.session.execute(update(Comment).where(Comment.status == CommentStatus.PENDING)
                       .values(status=CommentStatus.REJECTED))
    db.session.commit()
    _check("raw SQL bulk update")
    db.session.execute(delete(Comment).where(Comment.author_id == author.id))
    db.session.commit()
    _check("rows deleted")

    assert sum(_stored().values()) == db.session.scalar(select(func.count()).select_from(Comment)) > 20
    assert queue_counts(admin, site.id)["rejected"] == _counted()[(site.id, "REJECTED")]


def test_the_migration_backfills_the_totals_from_existing_comments(app):
    site = make_site("news")
    thread = make_thread(site)
    for status in (CommentStatus.PUBLISHED, CommentStatus.PUBLISHED, CommentStatus.PENDING, CommentStatus.REJECTED):
        make_comment(thread, status=status)
    from discuss.models.totals import BACKFILL

    db.session.execute(delete(QueueTotal))
    db.session.execute(text(BACKFILL))
    db.session.commit()
    assert _stored() == _counted() == {(site.id, "PUBLISHED"): 2, (site.id, "PENDING"): 1,
                                       (site.id, "REJECTED"): 1}


def test_the_totals_migration_downgrades_and_upgrades_again(scratch_database):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    from discuss import create_app
    from tests.conftest import _base_config

    app = create_app(_base_config(scratch_database))
    with app.app_context():
        upgrade()
        downgrade(revision="0010_i18n_language")
        assert "queue_total" not in inspect(db.engine).get_table_names()
        site = make_site("news")
        make_comment(make_thread(site), status=CommentStatus.PENDING)  # written with no triggers
        upgrade()
        assert _stored() == _counted() == {(site.id, "PENDING"): 1}  # the backfill counted it
        make_comment(make_thread(site, "a-2"))
        assert _stored() == _counted()
        db.session.remove()
        db.engine.dispose()


@pytest.mark.skipif(not PG_URL, reason="row locks and deadlocks need PostgreSQL (DISCUSS_TEST_DATABASE_URL)")
def test_an_approve_and_a_hold_in_the_same_shard_never_deadlock_on_the_totals(app):
    """A status change updates two counters. Another transaction already holds the first the change
    would take in key order (pending); the hold (published -> pending) must wait for that one before
    taking any other, or it holds "published" while the first transaction asks for it: a deadlock."""
    site = make_site("news")
    thread = make_thread(site)
    held = make_comment(thread, body="held", status=CommentStatus.PUBLISHED)
    make_comment(thread, body="waiting", status=CommentStatus.PENDING)  # so the pending counter row exists
    db.session.commit()
    shard, table = thread.id % SHARDS, QueueTotal.__table__
    counter = (update(table).where(table.c.site_id == site.id, table.c.shard == shard)
               .values(n=table.c.n))
    failures: list[BaseException] = []
    engine = db.engine

    def hold_it() -> None:
        try:
            with app.app_context(), engine.begin() as hold:  # the engine's listeners read the app's config
                hold.execute(text("SET LOCAL lock_timeout = '30s'"))
                hold.execute(update(Comment.__table__).where(Comment.__table__.c.id == held.id)
                             .values(status=CommentStatus.PENDING.name))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    with engine.connect() as approve:
        transaction = approve.begin()
        approve.execute(text("SET LOCAL lock_timeout = '30s'"))
        approve.execute(counter.where(table.c.status == CommentStatus.PENDING.name))
        holder = threading.Thread(target=hold_it)
        holder.start()
        deadline = time.monotonic() + 30
        waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        with engine.connect() as watcher:  # its own connection: a transaction sees one stats snapshot
            while time.monotonic() < deadline and not watcher.execute(waiting).scalar():
                watcher.rollback()
                time.sleep(0.05)
        try:
            approve.execute(counter.where(table.c.status == CommentStatus.PUBLISHED.name))
            transaction.commit()
        except BaseException as error:  # noqa: BLE001
            failures.append(error)
            transaction.rollback()
        holder.join(60)
    assert failures == []
    _check("after both")


@pytest.mark.skipif(not PG_URL, reason="row locks and deadlocks need PostgreSQL (DISCUSS_TEST_DATABASE_URL)")
def test_two_bulk_actions_on_one_site_never_deadlock_on_the_totals(app, monkeypatch):
    """Two moderators bulk-reject different comments in the same two shards (3 and 5), in opposite
    orders. The first pauses after its first comment; the second then takes its own first comment's
    counters. Counters collected row by row would leave each holding what the other needs next: a
    deadlock. Locking the site's counters up front (lock_queue_totals) makes the second wait instead."""
    site = make_site("news")
    threads = {}
    for number in range(2 * SHARDS):  # one thread in each of two shards
        thread = make_thread(site, f"article-{number}")
        threads.setdefault(thread.id % SHARDS, thread)
    mine, theirs = ([make_comment(threads[shard], body=f"in shard {shard}", status=CommentStatus.PENDING).id
                     for shard in (3, 5)] for _ in range(2))
    admin = make_staff("admin@example.com", Role.ADMIN)
    paused, resume, failures = threading.Event(), threading.Event(), []
    real_reject = actions._reject

    def reject_then_pause(actor, comment, **options):
        real_reject(actor, comment, **options)
        if threading.current_thread().name == "first" and not paused.is_set():
            paused.set()
            resume.wait(30)

    monkeypatch.setattr(actions, "_reject", reject_then_pause)

    def bulk(order: list[int]) -> None:
        try:
            with app.app_context():
                db.session.execute(text("SET lock_timeout = '20s'"))
                apply_bulk_action(Actor.for_user(db.session.get(User, admin.id)), order, "reject", reason="spam")
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    first = threading.Thread(target=bulk, args=(mine,), name="first")
    second = threading.Thread(target=bulk, args=(theirs[::-1],), name="second")
    first.start()
    assert paused.wait(30)
    second.start()
    waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    deadline = time.monotonic() + 30
    with db.engine.connect() as watcher:
        while time.monotonic() < deadline and not watcher.execute(waiting).scalar():
            watcher.rollback()
            time.sleep(0.05)
    resume.set()
    first.join(60)
    second.join(60)
    assert failures == []
    _check("after two bulk actions")
