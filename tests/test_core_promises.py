"""The service's four core promises, each tested in effect (and each test seen failing with its guard removed).

1. Rescoring never overrides a moderator's decision.
2. A held comment is never published without scores or a human decision.
3. An accepted comment is never lost when the scorer raises or times out: it is kept, held in the queue.
4. A deleted comment's text is never returned by any endpoint.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from discuss.extensions import db
from discuss.models import Comment, CommentStatus, ModerationEvent, Role
from discuss.scoring.runtime import ScoringService
from discuss.moderation.policy import SCORING_QUEUED, SCORING_UNAVAILABLE, ScoreSource, decide
from discuss.moderation.rescoring import rescore_pending, route_scored, score_and_route
from tests.dashboard_support import forget_cached_user, make_staff, sign_in
from tests.factories import bearer, make_comment, make_site, make_thread, make_user
from tests.support.api import flatten, post_comment, read_thread, sign_up
from tests.support.scorers import FakeScorer

CLEAN = {"toxicity": 0.01, "insult": 0.01, "threat": 0.01}


@pytest.fixture
def app_config():
    return {"MAIL_ENABLED": False}  # registering readers would otherwise try to send mail


def use_scorer(app, scorer: FakeScorer) -> FakeScorer:
    """Swap the process's model, as when a crashed scorer comes back."""
    app.extensions["discuss.scoring"] = ScoringService.from_scorer(scorer)
    return scorer


def reload(comment: Comment) -> Comment:
    db.session.expire_all()
    return db.session.get(Comment, comment.id)


def events(comment: Comment) -> list[str]:
    return list(db.session.scalars(select(ModerationEvent.action).where(ModerationEvent.comment_id == comment.id)
                                   .order_by(ModerationEvent.id)))


def public_ids(client) -> set[int]:
    forget_cached_user()
    return {c["id"] for c in flatten(read_thread(client).json["comments"]) if c["status"] == "published"}


def held_for_score(thread, body: str = "You idiot.", **fields) -> Comment:
    """A comment stored while the model was down: pending, waiting for a score."""
    return make_comment(thread, make_user("Held"), body, status=CommentStatus.PENDING,
                        reasons=[SCORING_UNAVAILABLE], **fields)


# --- 1. rescoring never overrides a moderator's decision ------------------------------------------------

@pytest.fixture
def broken_app(make_app):
    """An app whose scorer raises: every new comment is held as scoring_unavailable."""
    app = make_app(SCORER=FakeScorer(fail=True))
    with app.app_context():
        make_site(toxicity_nudge=False)
        yield app
        db.session.remove()


def test_rescoring_leaves_comments_a_moderator_approved_or_rejected_while_the_model_was_down(broken_app):
    client = broken_app.test_client()
    insult = post_comment(client, "You idiot, read the budget.").json["comment"]["id"]
    fine = post_comment(client, "Thanks for the clear report.", name="Bob").json["comment"]["id"]
    moderator = make_staff("mod@example.com", Role.ADMIN)
    staff = broken_app.test_client()
    sign_in(staff, moderator)
    assert staff.post(f"/api/v1/moderation/comments/{insult}/actions", json={"action": "approve"}).status_code == 200
    assert staff.post(f"/api/v1/moderation/comments/{fine}/actions",
                      json={"action": "reject", "reason": "spam"}).status_code == 200

    scorer = use_scorer(broken_app, FakeScorer())  # the model is back: it would hold the insult, publish the other
    assert rescore_pending() == {"published": 0, "pending": 0, "rejected": 0, "skipped": 0, "failed": 0}
    assert score_and_route(insult) == score_and_route(fine) == "skipped"  # the queue worker's path
    assert route_scored(insult, scorer.score_one("You idiot")) == "skipped"  # a worker that scored before the
    assert route_scored(fine, CLEAN) == "skipped"                           # moderator acted
    insult_row, fine_row = db.session.get(Comment, insult), db.session.get(Comment, fine)
    assert (insult_row.status, fine_row.status) == (CommentStatus.PUBLISHED, CommentStatus.REJECTED)
    assert fine_row.reasons == ["reject:spam"] and insult_row.scores is None
    assert "rescore" not in events(insult_row) + events(fine_row)
    assert public_ids(client) == {insult}


def test_rescoring_never_scores_or_routes_a_held_comment_a_moderator_has_decided(app):
    thread = make_thread(make_site())
    decided = held_for_score(thread, "Perfectly polite words.", moderator_decided=True)
    waiting = held_for_score(thread, "Also polite, never looked at.")
    scorer = use_scorer(app, FakeScorer())

    assert rescore_pending() == {"published": 1, "pending": 0, "rejected": 0, "skipped": 0, "failed": 0}
    assert scorer.calls == [["Also polite, never looked at."]]  # the decided comment is not even picked up
    decided = reload(decided)
    assert (decided.status, decided.reasons, decided.scores) == (CommentStatus.PENDING, [SCORING_UNAVAILABLE], None)
    assert events(decided) == [] and reload(waiting).status is CommentStatus.PUBLISHED


def test_queue_worker_never_routes_a_held_comment_a_moderator_has_decided(app):
    decided = held_for_score(make_thread(make_site()), "Perfectly polite words.", moderator_decided=True)
    use_scorer(app, FakeScorer())

    assert score_and_route(decided.id) == "skipped"
    assert route_scored(decided.id, CLEAN) == "skipped"
    decided = reload(decided)
    assert (decided.status, decided.reasons, decided.scores) == (CommentStatus.PENDING, [SCORING_UNAVAILABLE], None)
    assert events(decided) == []


# --- 2. a held comment is never published without scores or a human decision ------------------------------

def test_held_comment_stays_held_while_the_scorer_keeps_failing_and_only_a_moderator_publishes_it(broken_app):
    client = broken_app.test_client()
    comment_id = post_comment(client, "A fair point about the budget.").json["comment"]["id"]
    for _ in range(2):
        assert rescore_pending()["failed"] == 1
    stored = db.session.get(Comment, comment_id)
    assert (stored.status, stored.reasons, stored.scores) == (CommentStatus.PENDING, [SCORING_UNAVAILABLE], None)
    assert public_ids(client) == set()
    assert read_thread(client).json["thread"]["published_count"] == 0

    staff = broken_app.test_client()
    sign_in(staff, make_staff("mod@example.com", Role.ADMIN))
    staff.post(f"/api/v1/moderation/comments/{comment_id}/actions", json={"action": "approve"})
    assert public_ids(client) == {comment_id}


def test_queue_worker_with_a_failing_model_leaves_the_comment_held(broken_app):
    comment_id = post_comment(broken_app.test_client(), "A fair point.").json["comment"]["id"]
    with pytest.raises(Exception):
        score_and_route(comment_id)  # the job fails (RQ retries it); the comment is untouched
    stored = reload(db.session.get(Comment, comment_id))
    assert (stored.status, stored.reasons) == (CommentStatus.PENDING, [SCORING_UNAVAILABLE])


def test_queue_mode_holds_every_comment_until_a_worker_scores_it(make_app):
    app = make_app(SCORING="queue", REDIS_URL="redis://127.0.0.1:9/0")  # nothing listens: enqueueing fails
    with app.app_context():
        make_site()
        client = app.test_client()
        response = post_comment(client, "Nothing wrong with this one.")
        assert response.status_code == 202
        stored = db.session.get(Comment, response.json["comment"]["id"])
        assert (stored.status, stored.reasons, stored.scores) == (CommentStatus.PENDING, [SCORING_QUEUED], None)
        assert public_ids(client) == set()
        assert score_and_route(stored.id) == "published"  # the worker (or `flask discuss rescore`) scores it
        assert reload(stored).scores is not None and public_ids(client) == {stored.id}
        db.session.remove()


@pytest.mark.parametrize("source", [ScoreSource("given", None), ScoreSource("queue")], ids=["no-scores", "queued"])
def test_the_policy_holds_a_comment_it_has_no_scores_for(app, source):
    site = make_site()
    thread = make_thread(site)
    decision = decide(settings=site.effective_settings(), thread=thread, author=make_user(), text="Fine words.",
                      html="<p>Fine words.</p>", source=source)
    assert decision.status is CommentStatus.PENDING and decision.scores is None
    assert decision.reasons == [source.error or SCORING_UNAVAILABLE]


@pytest.mark.parametrize("reasons", [["premoderation:site"], ["suspect_word"], ["links:premoderated"],
                                     ["toxicity:insult"]])
def test_rescoring_never_publishes_a_comment_held_for_a_human(app, reasons):
    """Held for review, not for a missing score: even with premoderation since turned off and clean scores,
    only a moderator publishes it."""
    held = make_comment(make_thread(make_site()), body="Calm words.", status=CommentStatus.PENDING,
                        reasons=reasons, scores=CLEAN)
    scorer = use_scorer(app, FakeScorer())
    assert rescore_pending()["published"] == 0 and scorer.calls == []
    assert score_and_route(held.id) == "skipped" and route_scored(held.id, CLEAN) == "skipped"
    held = reload(held)
    assert (held.status, held.reasons) == (CommentStatus.PENDING, reasons)


def test_rescoring_publishes_only_with_scores_under_every_hold_threshold(app):
    thread = make_thread(make_site())
    toxic, threat, clean = (held_for_score(thread, body) for body in
                            ("You idiot.", "I will kill you.", "Calm and polite."))
    use_scorer(app, FakeScorer())
    assert rescore_pending() == {"published": 1, "pending": 1, "rejected": 1, "skipped": 0, "failed": 0}
    assert reload(toxic).status is CommentStatus.PENDING
    assert reload(toxic).reasons == ["toxicity:toxicity", "toxicity:insult"]
    assert reload(threat).status is CommentStatus.REJECTED
    clean = reload(clean)
    assert clean.status is CommentStatus.PUBLISHED and clean.scores["toxicity"] == pytest.approx(0.02)


# --- 3. an accepted comment is never lost when the scorer raises or times out --------------------------------

@pytest.mark.parametrize("scorer, config", [
    (FakeScorer(fail=True), {}),
    (FakeScorer(delay=1.0), {"SCORING_TIMEOUT_MS": 100}),
], ids=["scorer-raises", "scorer-times-out"])
def test_comment_is_kept_and_held_when_the_scorer_fails(make_app, scorer, config):
    app = make_app(SCORER=scorer, **config)
    with app.app_context():
        make_site()
        client = app.test_client()
        response = post_comment(client, "My carefully written comment.")
        assert response.status_code == 202 and response.json["status"] == "pending"
        token = response.json["author_token"]
        stored = db.session.get(Comment, response.json["comment"]["id"])
        assert stored.body_markdown == "My carefully written comment."
        assert (stored.status, stored.reasons) == (CommentStatus.PENDING, [SCORING_UNAVAILABLE])
        assert events(stored) == ["create"]
        # The author still sees it (held), and it waits in the moderators' queue.
        forget_cached_user()
        mine = flatten(read_thread(client, token=token).json["comments"])
        assert [(c["id"], c["status"]) for c in mine] == [(stored.id, "pending")]
        staff = app.test_client()
        sign_in(staff, make_staff("mod@example.com", Role.ADMIN))
        queue = staff.get("/api/v1/moderation/queues/pending").get_json()["items"]
        assert [item["id"] for item in queue] == [stored.id]
        db.session.remove()


def test_an_edit_is_kept_and_held_when_the_scorer_fails(make_app):
    scorer = FakeScorer()
    app = make_app(SCORER=scorer)
    with app.app_context():
        make_site()
        client = app.test_client()
        posted = post_comment(client, "First draft.").json
        scorer.fail = True
        forget_cached_user()
        response = client.patch(f"/api/v1/comments/{posted['comment']['id']}", json={"body": "Second draft."},
                                headers=bearer(posted["author_token"]))
        assert response.status_code == 202
        stored = db.session.get(Comment, posted["comment"]["id"])
        assert (stored.body_markdown, stored.status, stored.reasons) == (
            "Second draft.", CommentStatus.PENDING, [SCORING_UNAVAILABLE])
        db.session.remove()


def test_comment_is_kept_when_the_model_failed_to_load(make_app):
    app = make_app(SCORER=None, SCORER_ENABLED=False)
    with app.app_context():
        service = ScoringService(lambda: (_ for _ in ()).throw(OSError("no weights")), "broken")
        app.extensions["discuss.scoring"] = service
        service.start()
        service.wait_ready(1)
        make_site()
        response = post_comment(app.test_client(), "Posted while the model is broken.")
        assert response.status_code == 202
        assert db.session.scalar(select(func.count(Comment.id)).where(Comment.status == CommentStatus.PENDING)) == 1
        db.session.remove()


# --- 4. a deleted comment's text is never returned by any endpoint -------------------------------------------

SECRET = "Zanzibar-Quokka-7731 said something regrettable"


def _register(client, email: str, name: str) -> str:
    return sign_up(client, email=email, name=name).get_json()["token"]


def _everything_readable(app, comment_id: int, reply_id: int, author_token: str, reader_token: str) -> dict:
    """Every endpoint that returns comment text, as each audience sees it."""
    reader = app.test_client()
    staff = app.test_client()
    sign_in(staff, make_staff("boss@example.com", Role.ADMIN))
    pages: dict[str, bytes] = {}

    def get(client, name, url, **kwargs):
        forget_cached_user()
        response = client.get(url, **kwargs)
        assert response.status_code in (200, 401, 404), (name, response.status_code)
        pages[name] = response.get_data()

    thread = "/api/v1/comments?site=news&article=article-1"
    for sort in ("oldest", "newest", "top"):
        get(reader, f"public thread {sort}", f"{thread}&sort={sort}")
    get(reader, "author's view", thread, headers=bearer(author_token))
    get(reader, "other reader's view", thread, headers=bearer(reader_token))
    get(reader, "author's export", "/api/v1/me/export", headers=bearer(author_token))
    get(reader, "embed read page", "/embed/read?site=news&article=article-1")
    forget_cached_user()
    pages["counts"] = reader.post("/api/v1/counts", json={"site": "news", "articles": ["article-1"]}).get_data()
    for queue in ("all", "pending", "published", "rejected", "reported"):
        get(staff, f"staff api queue {queue}", f"/api/v1/moderation/queues/{queue}")
        get(staff, f"staff page queue {queue}", f"/mod/queue/{queue}")
    get(staff, "staff search", "/api/v1/moderation/queues/all?q=zanzibar")
    for cid in (comment_id, reply_id):
        get(staff, f"staff api comment {cid}", f"/api/v1/moderation/comments/{cid}")
        get(staff, f"staff page comment {cid}", f"/mod/comments/{cid}")
    get(staff, "staff api audit", "/api/v1/moderation/audit")
    get(staff, "staff page audit", "/mod/audit")
    return pages


def _assert_text_gone(pages: dict[str, bytes], reply_id: int) -> None:
    leaks = [name for name, body in pages.items() if b"Zanzibar" in body or b"Quokka" in body]
    assert leaks == []
    # The same requests do return live text: the reply under the deleted comment, to every audience.
    for name in ("public thread oldest", "other reader's view", "embed read page", "staff api queue all",
                 "staff page queue all", f"staff api comment {reply_id}", f"staff page comment {reply_id}"):
        assert b"A reply that stays." in pages[name], name


@pytest.fixture
def deleted_thread(app, client):
    """An account's comment, with a published reply under it, read once (so pages are cached)."""
    make_site(account_deletion_policy="remove")
    author_token = _register(client, "ann@example.com", "Ann")
    reader_token = _register(client, "bob@example.com", "Bob")
    posted = post_comment(client, SECRET, token=author_token, name=None)
    assert posted.status_code == 201, posted.json
    comment_id = posted.json["comment"]["id"]
    reply = post_comment(client, "A reply that stays.", token=reader_token, name=None, parent_id=comment_id)
    forget_cached_user()
    assert SECRET in read_thread(client).get_data(as_text=True)  # cached now
    return comment_id, reply.json["comment"]["id"], author_token, reader_token


def test_a_comment_its_author_deleted_is_never_returned(app, client, deleted_thread):
    comment_id, reply_id, author_token, reader_token = deleted_thread
    forget_cached_user()
    deleted = client.delete(f"/api/v1/comments/{comment_id}", headers=bearer(author_token))
    assert deleted.status_code == 200 and b"Zanzibar" not in deleted.get_data()
    pages = _everything_readable(app, comment_id, reply_id, author_token, reader_token)
    _assert_text_gone(pages, reply_id)
    # The reply keeps its place under a placeholder.
    forget_cached_user()
    [placeholder] = read_thread(client).json["comments"]
    assert placeholder["status"] == "deleted" and placeholder["html"] is None
    assert [r["id"] for r in placeholder["replies"]] == [reply_id]
    stored = db.session.get(Comment, comment_id)
    assert stored.body_markdown == stored.body_html == stored.body_text == ""


def test_comments_removed_with_their_account_are_never_returned(app, client, deleted_thread):
    comment_id, reply_id, author_token, reader_token = deleted_thread
    forget_cached_user()
    assert client.delete("/api/v1/me", headers=bearer(author_token)).get_json()["comments"]["removed"] == 1
    pages = _everything_readable(app, comment_id, reply_id, author_token, reader_token)
    _assert_text_gone(pages, reply_id)
    stored = db.session.get(Comment, comment_id)
    assert stored.status is CommentStatus.DELETED and stored.body_text == ""
