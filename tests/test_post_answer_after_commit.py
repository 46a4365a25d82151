"""A stored comment is always answered 201/202 with its id, even when the database goes away
right after the commit (issue 19, "Stored comments answered with 500"); and a retry of a post
whose answer was lost is told which comment is already stored."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from discuss.extensions import db
from discuss.models import Comment, CommentStatus
from tests.factories import make_site
from tests.support.api import post_comment


@contextmanager
def connection_lost_after_commit():
    """From the first COMMIT on, every statement fails as when the server drops the connection."""
    engine = db.engine
    state = {"committed": 0, "refused": 0}

    def on_commit(_conn):
        state["committed"] += 1

    def on_execute(_conn, _cursor, statement, parameters, _context, _many):
        if state["committed"]:
            state["refused"] += 1
            raise OperationalError(statement, parameters, ConnectionError("server closed the connection"))

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield state
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)


def _stored(comment_id: int) -> Comment | None:
    db.session.rollback()  # read what is committed, not what this session remembers
    return db.session.get(Comment, comment_id)


def test_published_comment_is_answered_201_with_its_id_when_the_connection_drops_after_commit(client, app):
    make_site()
    with connection_lost_after_commit() as state:
        response = post_comment(client, "Stored before the database went away.")
    assert state["committed"] == 1
    assert response.status_code == 201, response.get_data(as_text=True)
    answered = response.json["comment"]
    assert response.json["status"] == "published" and response.json["author_token"]
    stored = _stored(answered["id"])
    assert stored is not None and stored.status is CommentStatus.PUBLISHED
    assert stored.body_markdown == "Stored before the database went away."


def test_held_comment_is_answered_202_with_its_id_when_the_connection_drops_after_commit(client, app):
    make_site(premoderation="all")
    with connection_lost_after_commit() as state:
        response = post_comment(client, "Held, and stored before the database went away.")
    assert state["committed"] == 1
    assert response.status_code == 202, response.get_data(as_text=True)
    assert _stored(response.json["comment"]["id"]).status is CommentStatus.PENDING


def test_after_commit_hooks_that_hit_the_lost_connection_do_not_fail_the_answer(client, app):
    """The webhook announcement reads the audit row after the commit: that read fails here and is
    logged, and the author is still answered."""
    make_site()
    with connection_lost_after_commit() as state:
        response = post_comment(client, "Hooks run after the commit.")
    assert response.status_code == 201
    assert state["refused"] >= 1  # something did try the database after the commit


def test_retry_of_a_stored_post_is_told_which_comment_is_already_there(client, app):
    """The choice: a retry (same text, same guest name, same IP, within the duplicate window) is
    still refused, so nothing is stored twice, but the 409 names the stored comment. No author
    token comes with it: matching text, name and address prove no identity."""
    make_site()
    first = post_comment(client, "Sent once, answer lost on the way.")
    retry = post_comment(client, "Sent once, answer lost on the way.")
    assert retry.status_code == 409
    error = retry.json["error"]
    assert error["code"] == "duplicate_comment" and error["comment_id"] == first.json["comment"]["id"]
    assert "author_token" not in retry.json and "author_token" not in error
    assert db.session.scalar(select(func.count(Comment.id))) == 1


def test_published_reply_is_answered_201_when_the_reply_notice_cannot_read_the_database(client, app):
    """A published reply looks up the parent's author to notify after the commit: that read
    fails here, and the reply is still answered 201."""
    make_site()
    parent = post_comment(client, "The parent comment.").json
    with connection_lost_after_commit() as state:
        response = post_comment(client, "A reply, stored.", parent_id=parent["comment"]["id"], name="Bo")
    assert response.status_code == 201, response.get_data(as_text=True)
    assert state["refused"] >= 1
    assert _stored(response.json["comment"]["id"]).parent_id == parent["comment"]["id"]


def test_edit_is_answered_200_when_the_connection_drops_after_its_commit(client, app):
    make_site()
    posted = post_comment(client, "Before the edit.").json
    with connection_lost_after_commit():
        response = client.patch(f"/api/v1/comments/{posted['comment']['id']}", json={"body": "After the edit."},
                                headers={"Authorization": f"Bearer {posted['author_token']}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["comment"]["body_markdown"] == "After the edit."
    assert _stored(posted["comment"]["id"]).body_markdown == "After the edit."
