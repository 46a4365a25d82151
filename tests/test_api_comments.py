"""The public comment API: posting, replying, reading, editing, deleting, votes, reports, counts."""
from datetime import timedelta

from sqlalchemy import func, select

from discuss.extensions import db
from discuss.models import Comment, CommentStatus, ModerationEvent, Report, Thread, User
from tests.factories import make_comment, make_site, make_thread, make_user, token_for
from tests.support.api import flatten, post_comment, read_thread


def test_unknown_thread_reads_as_empty_list(client, app):
    make_site()
    response = read_thread(client, article="never-commented")
    assert response.status_code == 200
    assert response.json["comments"] == []
    assert response.json["thread"]["published_count"] == 0
    assert response.json["next_cursor"] is None


def test_first_post_creates_thread_and_publishes_with_201(client, app):
    make_site()
    response = post_comment(client, "Hello *world*")
    assert response.status_code == 201
    assert response.json["status"] == "published"
    assert response.json["comment"]["html"] == "<p>Hello <em>world</em></p>"
    assert response.json["author_token"]
    thread = db.session.scalar(select(Thread))
    assert (thread.article_id, thread.title, thread.published_count) == ("article-1", "Council approves budget", 1)
    listed = read_thread(client).json
    assert [c["html"] for c in listed["comments"]] == ["<p>Hello <em>world</em></p>"]
    assert listed["thread"]["published_count"] == 1


def test_held_comment_answers_202_without_moderation_internals(client, app):
    make_site(premoderation="all")
    response = post_comment(client, "Please review me")
    assert response.status_code == 202
    assert response.json["status"] == "pending"
    assert "moderator" in response.json["message"]
    assert "reasons" not in response.json["comment"] and "scores" not in response.json["comment"]
    assert read_thread(client).json["comments"] == []


def test_author_sees_own_pending_comment_but_others_do_not(client, app):
    make_site(premoderation="all")
    token = post_comment(client, "Mine, awaiting review").json["author_token"]
    own = read_thread(client, token=token).json
    assert [(c["status"], c["html"]) for c in own["comments"]] == [("pending", "<p>Mine, awaiting review</p>")]
    assert own["viewer"]["name"] == "Ann"
    other = make_user("Bob")
    assert read_thread(client, token=token_for(other)["Authorization"][7:]).json["comments"] == []
    assert read_thread(client).json["comments"] == []


def test_reply_nests_under_parent_and_returning_guest_keeps_identity(client, app):
    make_site()
    first = post_comment(client, "Top level").json
    reply = post_comment(client, "A reply", parent_id=first["comment"]["id"], token=first["author_token"], name=None)
    assert reply.status_code == 201
    assert reply.json["viewer"]["id"] == first["viewer"]["id"]
    tree = read_thread(client).json["comments"]
    assert tree[0]["replies"][0]["html"] == "<p>A reply</p>"
    assert tree[0]["replies"][0]["depth"] == 1


def test_replies_deeper_than_max_depth_attach_to_deepest_allowed_ancestor(client, app):
    site = make_site(max_depth=2)
    thread = make_thread(site)
    root = make_comment(thread)
    child = make_comment(thread, parent=root)
    grandchild = make_comment(thread, parent=child)
    response = post_comment(client, "Too deep", parent_id=grandchild.id)
    assert response.status_code == 201
    assert response.json["comment"]["parent_id"] == child.id
    assert response.json["comment"]["depth"] == 2


def test_reply_to_comment_in_another_thread_is_refused(client, app):
    site = make_site()
    elsewhere = make_comment(make_thread(site, "other-article"))
    response = post_comment(client, "Wrong thread", parent_id=elsewhere.id)
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {"parent_id": "no such comment in this thread"}


def test_author_edits_within_window_and_edit_is_rescored(client, app, scorer):
    make_site()
    created = post_comment(client, "Original text").json
    token, comment_id = created["author_token"], created["comment"]["id"]
    edited = client.patch(f"/api/v1/comments/{comment_id}", json={"body": "Better **text**"},
                          headers={"Authorization": f"Bearer {token}"})
    assert edited.status_code == 200
    assert edited.json["comment"]["html"] == "<p>Better <strong>text</strong></p>"
    assert edited.json["comment"]["edited_at"]
    held = client.patch(f"/api/v1/comments/{comment_id}", json={"body": "You idiot"},
                        headers={"Authorization": f"Bearer {token}"})
    assert held.status_code == 202
    assert db.session.get(Comment, comment_id).reasons == ["toxicity:toxicity", "toxicity:insult"]
    assert read_thread(client).json["thread"]["published_count"] == 0


def test_edit_after_window_is_refused_and_changes_nothing(client, app):
    site = make_site(edit_window_minutes=15)
    author = make_user("Ann")
    comment = make_comment(make_thread(site), author=author, body="Old", age=timedelta(minutes=16))
    response = client.patch(f"/api/v1/comments/{comment.id}", json={"body": "New"}, headers=token_for(author))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "edit_window_expired"
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).body_markdown == "Old"


def test_someone_elses_comment_cannot_be_edited_or_deleted(client, app):
    site = make_site()
    comment = make_comment(make_thread(site), author=make_user("Ann"))
    intruder = make_user("Mallory")
    assert client.patch(f"/api/v1/comments/{comment.id}", json={"body": "x"},
                        headers=token_for(intruder)).json["error"]["code"] == "forbidden"
    assert client.delete(f"/api/v1/comments/{comment.id}", headers=token_for(intruder)).status_code == 403
    assert client.delete(f"/api/v1/comments/{comment.id}").status_code == 401
    forged = client.delete(f"/api/v1/comments/{comment.id}", headers={"Authorization": "Bearer forged.token"})
    assert forged.status_code == 401 and forged.json["error"]["code"] == "invalid_token"
    assert db.session.get(Comment, comment.id).status is CommentStatus.PUBLISHED


def test_deleted_comment_with_replies_keeps_its_place(client, app):
    site = make_site()
    thread = make_thread(site)
    author = make_user("Ann")
    parent = make_comment(thread, author=author, body="Parent")
    make_comment(thread, parent=parent, body="Reply")
    lonely = make_comment(thread, author=author, body="No replies")
    assert client.delete(f"/api/v1/comments/{parent.id}", headers=token_for(author)).status_code == 200
    assert client.delete(f"/api/v1/comments/{lonely.id}", headers=token_for(author)).status_code == 200
    tree = read_thread(client).json
    assert len(tree["comments"]) == 1
    placeholder = tree["comments"][0]
    assert (placeholder["status"], placeholder["html"], placeholder["author"]) == ("deleted", None, None)
    assert placeholder["replies"][0]["html"] == "<p>Reply</p>"
    assert tree["thread"]["published_count"] == 1
    assert db.session.get(Comment, parent.id).body_markdown == ""


def test_one_like_per_reader_and_unlike(client, app):
    site = make_site()
    comment = make_comment(make_thread(site))
    reader = make_user("Liker")
    for _ in range(2):
        response = client.post(f"/api/v1/comments/{comment.id}/votes", json={"value": 1}, headers=token_for(reader))
        assert response.json == {"likes": 1, "value": 1}
    anonymous = client.post(f"/api/v1/comments/{comment.id}/votes", json={"value": 1})
    assert anonymous.json["likes"] == 2 and "author_token" not in anonymous.json  # no user minted
    undo = client.post(f"/api/v1/comments/{comment.id}/votes", json={"value": 0}, headers=token_for(reader))
    assert undo.json["likes"] == 1
    assert read_thread(client).json["comments"][0]["likes"] == 1


def test_report_is_recorded_once_per_reader_with_reason(client, app):
    site = make_site()
    comment = make_comment(make_thread(site))
    reader = make_user()
    first = client.post(f"/api/v1/comments/{comment.id}/reports", json={"reason": "spam", "note": "ad link"},
                        headers=token_for(reader))
    assert first.status_code == 201
    again = client.post(f"/api/v1/comments/{comment.id}/reports", json={"reason": "spam"}, headers=token_for(reader))
    assert again.status_code == 409
    report = db.session.scalar(select(Report))
    assert (report.reason.value, report.note) == ("spam", "ad link")
    assert db.session.get(Comment, comment.id).report_count == 1
    assert db.session.scalar(select(ModerationEvent).where(ModerationEvent.action == "report")).reasons == ["report:spam"]


def test_counts_for_many_articles_in_one_call(client, app):
    site = make_site()
    busy = make_thread(site, "busy")
    for _ in range(3):
        make_comment(busy)
    make_comment(busy, status=CommentStatus.PENDING)
    response = client.post("/api/v1/counts", json={"site": "news", "articles": ["busy", "quiet"]})
    assert response.json == {"counts": {"busy": 3, "quiet": 0}}


def test_closed_thread_refuses_new_comments_with_403(client, app):
    make_thread(make_site(), is_closed=True)
    response = post_comment(client, "Anyone?")
    assert response.status_code == 403
    assert response.json["error"]["code"] == "thread_closed"
    assert db.session.scalar(select(func.count(Comment.id))) == 0


def test_email_is_never_returned(client, app):
    make_site()
    response = post_comment(client, "With email", author_email="ann@example.com")
    assert "ann@example.com" not in response.get_data(as_text=True)
    assert "ann@example.com" not in read_thread(client).get_data(as_text=True)
    assert db.session.scalar(select(User.email)) == "ann@example.com"


def test_every_status_decision_leaves_an_audit_event(client, app):
    make_site(premoderation="all")
    comment_id = post_comment(client, "Held").json["comment"]["id"]
    event = db.session.scalar(select(ModerationEvent).where(ModerationEvent.comment_id == comment_id))
    assert (event.action, event.to_status, event.reasons, event.actor_label) == (
        "create", "pending", ["premoderation:site"], "pipeline")


def test_ip_is_stored_only_as_salted_hash(client, app):
    make_site()
    client.post("/api/v1/comments", json={"site": "news", "article": "a", "body": "Hi", "author_name": "Ann"},
                environ_base={"REMOTE_ADDR": "203.0.113.9"})
    stored = db.session.scalar(select(Comment.ip_hash))
    assert stored and "203.0.113.9" not in stored and len(stored) == 40


def test_top_level_pagination_walks_a_thousand_comment_thread(client, app):
    site = make_site()
    thread = make_thread(site)
    author = make_user()
    roots = []
    for i in range(250):
        roots.append(Comment(thread_id=thread.id, author_id=author.id, author_name="A", body_markdown=str(i),
                             body_html=f"<p>{i}</p>", body_text=str(i), status=CommentStatus.PUBLISHED, depth=0))
    db.session.add_all(roots)
    db.session.flush()
    replies = []
    for root in roots:
        root.root_id = root.id
        for j in range(3):
            replies.append(Comment(thread_id=thread.id, author_id=author.id, author_name="A", body_markdown="r",
                                   body_html="<p>r</p>", body_text="r", status=CommentStatus.PUBLISHED, depth=1,
                                   parent_id=root.id, root_id=root.id))
    db.session.add_all(replies)
    db.session.commit()
    from discuss.models.queries import touch_thread
    touch_thread(thread.id)
    db.session.commit()
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        body = read_thread(client, **params).json
        pages += 1
        seen.extend(flatten(body["comments"]))
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert len(seen) == 1000 and len({c["id"] for c in seen}) == 1000
    assert body["thread"]["published_count"] == 1000


def test_sorts_order_top_level_comments(client, app):
    site = make_site()
    thread = make_thread(site)
    first, second, third = (make_comment(thread, body=b) for b in ("first", "second", "third"))
    second.likes = 5
    third.is_featured = True
    db.session.commit()
    from discuss.models.queries import touch_thread
    touch_thread(thread.id)
    db.session.commit()

    def order(sort):
        return [c["id"] for c in read_thread(client, sort=sort).json["comments"]]

    assert order("oldest") == [third.id, first.id, second.id]
    assert order("newest") == [third.id, second.id, first.id]
    assert order("top") == [third.id, second.id, first.id]
    page = read_thread(client, sort="top", limit=1).json
    rest = read_thread(client, sort="top", limit=5, cursor=page["next_cursor"]).json
    assert [c["id"] for c in rest["comments"]] == [second.id, first.id]
