"""The queries bench/scale.py made index-friendly give the same answers, and use their indexes.

Runs on SQLite and, with DISCUSS_TEST_DATABASE_URL, on PostgreSQL (the trigram part only there).
"""
from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, event, select, text

from discuss import create_app
from discuss.extensions import db
from discuss.identity.staff import Actor
from discuss.models import Comment, CommentStatus, Role
from discuss.models.comment import QUEUE_SORT_LABELS
from discuss.moderation.queues import QueueFilters, _filtered, _ordering, load_queue
from discuss.scoring.base import CORE_LABELS
from tests.conftest import PG_URL, _base_config
from tests.factories import make_comment, make_site, make_thread, make_user

SCALE_INDEXES = {"comment": {"ix_comment_thread_status_id", "ix_comment_thread_roots", "ix_comment_created", "ix_comment_reported", "ix_comment_decided_created",
                             "ix_comment_status_toxicity"},
                 "moderation_event": {"ix_event_created"}}
TRIGRAM_INDEXES = {"ix_comment_body_trgm", "ix_comment_author_name_trgm"}


def _admin() -> Actor:
    return Actor.for_user(make_user("Admin", role=Role.ADMIN))


def _expected_toxicity_order(comments: list[Comment]) -> list[int]:
    def top(c: Comment) -> float:
        scores = c.scores if isinstance(c.scores, dict) else {}
        return max(float(scores.get(label, 0.0) or 0.0) for label in CORE_LABELS)
    return [c.id for c in sorted(comments, key=lambda c: (-top(c), c.created_at, c.id))]


def test_the_queue_sorts_by_the_same_labels_the_scorer_reports():
    assert QUEUE_SORT_LABELS == CORE_LABELS


def test_pending_queue_by_toxicity_orders_as_the_highest_core_score(app):
    site = make_site()
    thread = make_thread(site)
    rng = random.Random(7)
    shapes = [None, {}, {"toxicity": 0.2}, {"insult": 0.9, "toxicity": 0.1}, {"threat": 0.5, "other_label": 0.99}]
    for i in range(30):
        scores = shapes[i] if i < len(shapes) else {label: round(rng.random(), 2) for label in
                                                    rng.sample(CORE_LABELS, rng.randint(1, len(CORE_LABELS)))}
        make_comment(thread, body=f"Held comment {i}", status=CommentStatus.PENDING, scores=scores,
                     age=timedelta(minutes=rng.choice([5, 5, 9, 30])))  # ties on score and time too
    make_comment(thread, body="Published, not in the queue", scores={"toxicity": 1.0})
    pending = list(db.session.scalars(select(Comment).where(Comment.status == CommentStatus.PENDING)))
    expected = _expected_toxicity_order(pending)
    actor = _admin()
    pages = [load_queue(actor, QueueFilters(queue="pending", sort="toxicity", page=p, per_page=7)) for p in (1, 2, 3, 4, 5)]
    assert [c.id for page in pages for c in page.comments] == expected
    assert pages[0].total == 30


def test_queue_text_search_matches_body_or_author_without_regard_to_case(app):
    site = make_site()
    thread = make_thread(site)
    zoe = make_user("Zoë Zeppelin-Fan")
    bodies = ["The ZEPPELIN landed", "no airship here", "zeppelins everywhere", "Zep pelin split", "plain"]
    for i, body in enumerate(bodies):
        make_comment(thread, body=body, status=CommentStatus.PENDING)
    make_comment(thread, author=zoe, body="Nothing about it", status=CommentStatus.PENDING)
    make_comment(thread, body="zeppelin but published")
    actor = _admin()
    found = load_queue(actor, QueueFilters(queue="pending", text="Zeppelin"))
    assert sorted(c.body_text for c in found.comments) == ["Nothing about it", "The ZEPPELIN landed",
                                                           "zeppelins everywhere"]
    assert found.total == 3
    everywhere = load_queue(actor, QueueFilters(queue="all", text="zeppelin"))
    assert everywhere.total == 4


def _plan(query, *disabled: str) -> str:
    """The plan of ``query`` as the app sends it: its own SQL text and bound parameters (SQLite matches
    an expression index only against the same expression, and a bound label is not the same)."""
    sent = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))
    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        db.session.execute(query).all()
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    statement, parameters = sent[-1]
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    if db.engine.dialect.name == "sqlite":
        cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return " ".join(str(row) for row in cursor.fetchall())
    # Tiny tables: forbid the alternatives so the plan shows whether the index *can* serve the query.
    for setting in ("enable_sort", "enable_seqscan") + disabled:
        cursor.execute(f"SET LOCAL {setting} = off")
    cursor.execute(f"EXPLAIN {statement}", parameters)
    plan = " ".join(row[0] for row in cursor.fetchall())
    db.session.rollback()
    return plan


def test_toxicity_sort_reads_its_index(app):
    make_comment(make_thread(make_site()), status=CommentStatus.PENDING, scores={"toxicity": 0.5})
    filters = QueueFilters(queue="pending", sort="toxicity")
    query = _filtered(_admin(), filters).order_by(*_ordering(filters)).limit(25)
    plan = _plan(query)
    assert "ix_comment_status_toxicity" in plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan  # the order comes from the index itself


@pytest.mark.skipif(not PG_URL, reason="trigram indexes are PostgreSQL's")
def test_queue_text_search_can_use_the_trigram_indexes(app):
    make_comment(make_thread(make_site()), status=CommentStatus.PENDING, body="A zeppelin")
    query = _filtered(_admin(), QueueFilters(queue="all", text="zeppelin"))
    plan = _plan(query, "enable_indexscan")  # a GIN index answers through a bitmap scan
    assert "ix_comment_body_trgm" in plan and "ix_comment_author_name_trgm" in plan


@pytest.fixture
def scratch_database(tmp_path):
    """An empty database of the test's dialect, just for migrating up and down."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"discuss_scratch_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _before_scale_indexes() -> str:
    """The revision the scale-index migration follows (found by name: revisions get re-chained)."""
    from alembic.script import ScriptDirectory

    return next(r.down_revision for r in ScriptDirectory("migrations").walk_revisions() if "pgscale" in r.revision)


def _indexes(table: str) -> set[str]:
    """Index names, expression indexes included (SQLAlchemy's inspector leaves those out on SQLite)."""
    if db.engine.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :table"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE tablename = :table"
    # Its own short connection: an open transaction would make DROP INDEX CONCURRENTLY wait for it.
    with db.engine.connect() as connection:
        return set(connection.scalars(text(query), {"table": table}))


def test_scale_index_migration_upgrades_and_downgrades(scratch_database):
    app = create_app(_base_config(scratch_database))
    with app.app_context():
        upgrade()
        trigram = TRIGRAM_INDEXES if db.engine.dialect.name == "postgresql" else set()
        assert SCALE_INDEXES["comment"] | trigram <= _indexes("comment")
        assert SCALE_INDEXES["moderation_event"] <= _indexes("moderation_event")
        downgrade(revision=_before_scale_indexes())
        assert not (SCALE_INDEXES["comment"] | TRIGRAM_INDEXES) & _indexes("comment")
        assert not SCALE_INDEXES["moderation_event"] & _indexes("moderation_event")
        upgrade()
        assert SCALE_INDEXES["comment"] | trigram <= _indexes("comment")
        db.session.remove()
        db.engine.dispose()


def _counted(actor: Actor, site_id: int | None) -> dict[str, int]:
    """Queue sizes the slow way: every comment, looked at in Python. A site filter replaces the actor's
    scope (callers only pass sites the actor moderates), as in the queue queries."""
    sizes = dict.fromkeys(("pending", "reported", "rejected", "published", "all"), 0)
    for c in db.session.scalars(select(Comment)):
        site = c.thread.site_id
        if site != site_id if site_id is not None else not actor.can_moderate(site):
            continue
        sizes["pending"] += c.status == CommentStatus.PENDING
        sizes["rejected"] += c.status == CommentStatus.REJECTED
        sizes["published"] += c.status == CommentStatus.PUBLISHED
        sizes["reported"] += c.status == CommentStatus.PUBLISHED and c.report_count > 0
        sizes["all"] += c.status != CommentStatus.DELETED
    return sizes


def test_queue_sizes_equal_counting_every_comment(app, world):
    from discuss.moderation.actions import apply_comment_action
    from discuss.moderation.queues import queue_counts

    admin = Actor.for_user(world.users["admin"])
    apply_comment_action(admin, world.toxic, "reject", reason="abuse")
    apply_comment_action(admin, world.pending, "approve")
    make_comment(world.thread, body="Deleted by its author", status=CommentStatus.DELETED)
    for role in ("admin", "moderator", "other_moderator"):
        actor = Actor.for_user(world.users[role])
        for site_id in (None, world.site.id, world.other_site.id):
            expected = _counted(actor, site_id)
            assert queue_counts(actor, site_id) == expected, (role, site_id)
            for queue, size in expected.items():
                assert load_queue(actor, QueueFilters(queue=queue, site_id=site_id)).total == size, (role, queue)


def test_a_filtered_queue_counts_only_up_to_the_cap_and_says_so(app, client, world, monkeypatch):
    from discuss.models import queries
    from tests.dashboard_support import sign_in

    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    actor = Actor.for_user(world.users["admin"])
    for _ in range(5):
        make_comment(world.thread, body="Held for a reason", status=CommentStatus.PENDING, reasons=["links:too_many"])
    first = load_queue(actor, QueueFilters(queue="pending", reason="links", per_page=1))
    assert (first.total, first.capped, first.pages) == (3, True, 3)  # at least: the pager offers a next page
    last = load_queue(actor, QueueFilters(queue="pending", reason="links", per_page=1, page=5))
    assert (last.total, last.capped, len(last.comments)) == (5, False, 1)
    whole = load_queue(actor, QueueFilters(queue="pending", per_page=1))
    assert not whole.capped and whole.total == len(list(db.session.scalars(
        select(Comment.id).where(Comment.status == CommentStatus.PENDING))))  # stored totals: exact, never capped
    sign_in(client, world.users["admin"])
    answer = client.get("/api/v1/moderation/queues/pending?reason=links&per_page=1").get_json()
    assert (answer["total"], answer["total_is_capped"]) == (3, True)


def test_the_audit_log_counts_only_up_to_the_cap_and_pages_on(app, client, world, monkeypatch):
    from discuss.models import ModerationEvent, queries
    from discuss.moderation import audit
    from tests.dashboard_support import sign_in

    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    monkeypatch.setattr(audit, "PER_PAGE", 1)
    for i in range(4):
        audit.record_event(site_id=world.site.id, action="note", actor_label="system", note=str(i))
    db.session.commit()
    events = db.session.scalar(select(db.func.count()).select_from(ModerationEvent).where(
        ModerationEvent.site_id == world.site.id))
    assert events > 2
    actor = Actor.for_user(world.users["admin"])
    assert audit.load_events(actor, audit.AuditFilters(site_id=world.site.id))[1:] == (2, True)
    assert audit.load_events(actor, audit.AuditFilters(site_id=world.site.id, page=events))[1:] == (events, False)
    sign_in(client, world.users["admin"])
    answer = client.get("/api/v1/moderation/audit?site=news").get_json()
    assert (answer["total"], answer["total_is_capped"]) == (2, True)
    page = client.get("/mod/audit?site=news").get_data(as_text=True)
    assert "more than 2 events" in page and "Older" in page


def test_a_text_search_pages_through_the_newest_matches_window_by_window(app, monkeypatch):
    from discuss.moderation import queues

    monkeypatch.setattr(queues, "SEARCH_WINDOW", 3)  # windows of 3, 6, 12, ... ids
    thread = make_thread(make_site())
    ids = []
    for i in range(40):
        comment = make_comment(thread, body=f"zeppelin {i}" if i % 4 == 0 else f"other {i}",
                               status=CommentStatus.PENDING if i % 8 else CommentStatus.REJECTED)
        ids.append(comment.id) if i % 4 == 0 else None
    actor = _admin()
    newest_first = ids[::-1]
    pages = [load_queue(actor, QueueFilters(queue="all", text="Zeppelin", per_page=3, page=p)) for p in (1, 2, 3, 4)]
    assert [c.id for page in pages for c in page.comments] == newest_first
    assert [(p.total, p.capped) for p in pages] == [(3, True), (6, True), (9, True), (10, False)]
    pending = load_queue(actor, QueueFilters(queue="pending", text="zeppelin", sort="toxicity"))
    assert [c.id for c in pending.comments] == [i for i in newest_first if (ids.index(i) * 4) % 8]
    assert (pending.total, pending.capped) == (5, False)


@pytest.mark.skipif(not PG_URL, reason="the time budget is a PostgreSQL statement timeout")
def test_a_search_out_of_index_time_falls_back_and_leaves_the_transaction_as_it_was(app, monkeypatch):
    from discuss.moderation import queues

    comment = make_comment(make_thread(make_site()), body="A zeppelin", status=CommentStatus.PENDING)
    before = db.session.scalar(text("SHOW statement_timeout"))
    monkeypatch.setattr(queues, "SEARCH_INDEX_MS", 20)
    slow = select(Comment.id).where(text("pg_sleep(0.2) IS NOT NULL"))
    assert queues._through_the_index(slow, 5) is None  # out of time: the caller takes the windows
    assert db.session.scalar(text("SHOW statement_timeout")) == before
    assert queues._through_the_index(select(Comment.id), 5) == [comment.id]
    assert db.session.scalar(text("SHOW statement_timeout")) == before
    assert [c.id for c in load_queue(_admin(), QueueFilters(queue="pending", text="zeppelin")).comments] == [comment.id]


def test_the_dashboard_says_a_search_lists_the_newest_matches_first(app, client, world):
    from tests.dashboard_support import sign_in

    sign_in(client, world.users["admin"])
    assert "newest matches first" not in client.get("/mod/queue/pending").get_data(as_text=True)
    assert "newest matches first" in client.get("/mod/queue/pending?q=idiot").get_data(as_text=True)
