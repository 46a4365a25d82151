"""The posting path writes its rows outside the ORM's unit of work (models.rows.insert_row, issue
19): what it answers is what it stored, the thread's tree bookkeeping is right, one post is one
transaction, and the after-commit hooks do not read back the audit row the post just wrote."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from discuss.extensions import db
from discuss.models import Comment, ModerationEvent, Thread, User, iso
from discuss.moderation import audit
from tests.factories import make_site
from tests.support.api import post_comment


@contextmanager
def statements():
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _counts() -> tuple[int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(table)) for table in (Comment, User, ModerationEvent))


def test_a_post_answers_exactly_the_row_it_stored_and_audits_it(client, site):
    answer = post_comment(client, "Stored as **answered**.", name="Ann")
    assert answer.status_code == 201
    body = answer.get_json()
    db.session.expire_all()
    stored = db.session.get(Comment, body["comment"]["id"])
    assert body["comment"]["html"] == stored.body_html and body["comment"]["body_markdown"] == stored.body_markdown
    assert body["comment"]["created_at"] == iso(stored.created_at) and body["comment"]["depth"] == stored.depth
    assert body["comment"]["author"]["name"] == stored.author_name == stored.author.display_name == "Ann"
    assert body["viewer"]["id"] == stored.author_id and stored.author.session_version == 0
    assert stored.root_id == stored.id and stored.depth == 0 and stored.likes == 0
    [created] = db.session.scalars(select(ModerationEvent).where(ModerationEvent.comment_id == stored.id))
    assert (created.action, created.to_status, created.target_user_id) == ("create", "published", stored.author_id)
    thread = db.session.get(Thread, stored.thread_id)
    assert thread.published_count == 1


def test_a_reply_takes_its_parents_root_and_depth(client, site):
    root = post_comment(client, "The first word.", name="Ann").get_json()["comment"]["id"]
    reply = post_comment(client, "A reply.", name="Bob", parent_id=root).get_json()["comment"]["id"]
    deeper = post_comment(client, "A reply to the reply.", name="Cy", parent_id=reply).get_json()["comment"]["id"]
    db.session.expire_all()
    assert [(c.root_id, c.depth) for c in (db.session.get(Comment, i) for i in (root, reply, deeper))] == \
        [(root, 0), (root, 1), (root, 2)]
    assert db.session.scalar(select(Thread.published_count)) == 3


def test_a_post_whose_audit_row_fails_leaves_no_comment_and_no_guest(client, site, monkeypatch):
    before = _counts()
    real = audit.new_event

    def broken(**fields):
        event_row = real(**fields)
        event_row.action = None  # NOT NULL: the audit INSERT fails after the guest and comment INSERTs
        return event_row

    monkeypatch.setattr("discuss.comments.posting.new_event", broken)
    with pytest.raises(IntegrityError):  # the test app propagates what would be a 500
        post_comment(client, "Half written?", name="Dee")
    db.session.rollback()
    assert _counts() == before


def test_the_webhook_hook_does_not_read_back_the_audit_row_a_post_wrote(client, site):
    post_comment(client, "Warm the thread up.", name="Ann")
    with statements() as seen:
        assert post_comment(client, "Counted statements.", name="Bob").status_code == 201
    reads_of_the_audit_row = [s for s in seen if s.startswith("SELECT") and "FROM moderation_event" in s]
    assert reads_of_the_audit_row == []
    assert sum(s.startswith("INSERT INTO moderation_event") for s in seen) == 1
