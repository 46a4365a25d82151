"""`import --score/--route` (scores stored, imported status kept unless routed, queue mode),
and the operator privacy commands."""
from __future__ import annotations

import json

from rq import Queue, SimpleWorker
from redis import Redis
from sqlalchemy import func, select

from discuss.extensions import db
from discuss.jobs.runner import QUEUE_NAME
from discuss.models import AuthorKind, Comment, CommentStatus, ModerationEvent, User
from tests.factories import make_comment, make_site, make_thread, make_user
from tests.support import portability as fx

TOXIC = "You are an idiot."     # KeywordScorer: toxicity 0.91, insult 0.88 -> held by default settings


def archive(tmp_path) -> str:
    s = fx.scenario(("pending",))
    s.posts.append(fx.Post("t1", "A", "Rude", None, fx.at(24), body=TOXIC))
    s.posts.append(fx.Post("t2", "A", "Rude", None, fx.at(25), state="pending", body=TOXIC + " Again."))
    path = tmp_path / "d.xml"
    path.write_bytes(fx.disqus_xml(s))
    return str(path)


def by_text(text: str) -> Comment:
    db.session.expire_all()
    return db.session.scalar(select(Comment).where(Comment.body_text == text))


def test_score_stores_scores_and_keeps_the_imported_status(app, tmp_path):
    make_site("news", origins=["https://news.example.com"])
    result = app.test_cli_runner().invoke(args=["discuss", "import", "disqus", archive(tmp_path), "--site", "news",
                                                "--score"])
    assert result.exit_code == 0, result.output
    assert "scored: scored=7" in result.output
    rude = by_text(TOXIC)
    assert rude.status is CommentStatus.PUBLISHED and rude.scores["toxicity"] == 0.91
    assert by_text("Waiting for a moderator.").status is CommentStatus.PENDING
    # a moderator can now sort the archive by toxicity: every live imported comment has scores
    assert db.session.scalar(select(func.count()).select_from(Comment).where(Comment.scores.is_(None))) == 0


def test_route_applies_the_site_rules_but_never_publishes_what_the_source_held(app, client, tmp_path):
    make_site("news", origins=["https://news.example.com"], banned_words=["watches"])
    result = app.test_cli_runner().invoke(args=["discuss", "import", "disqus", archive(tmp_path), "--site", "news",
                                                "--route"])
    assert result.exit_code == 0, result.output
    rude = by_text(TOXIC)
    assert rude.status is CommentStatus.PENDING
    assert "imported_routed" in rude.reasons and any(r.startswith("toxicity:") for r in rude.reasons)
    # the pending one stays pending (rules hold it too, they never publish it)
    assert by_text(TOXIC + " Again.").status is CommentStatus.PENDING
    assert by_text("Second level.").status is CommentStatus.PUBLISHED
    page = client.get("/api/v1/comments", query_string={"site": "news",
                                                        "article": "https://news.example.com/2021/budget"}).get_json()
    assert page["thread"]["published_count"] == 3  # Zoë, Bob, Carl; the routed one left the count at once
    assert db.session.scalar(select(func.count()).select_from(ModerationEvent)
                             .where(ModerationEvent.action == "route_imported")) == 1


def test_score_goes_through_the_queue_in_queue_mode(make_app, redis_url, tmp_path):
    app = make_app(SCORING="queue", REDIS_URL=redis_url)
    with app.app_context():
        make_site("news", origins=["https://news.example.com"])
        result = app.test_cli_runner().invoke(args=["discuss", "import", "disqus", archive(tmp_path),
                                                    "--site", "news", "--score"])
        assert result.exit_code == 0, result.output
        assert "scoring queued for 7 comments in 1 jobs" in result.output
        assert by_text(TOXIC).scores is None  # nothing scored in the importing process
        connection = Redis.from_url(redis_url)
        assert Queue(QUEUE_NAME, connection=connection).count == 1
        SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(burst=True)
        rude = by_text(TOXIC)
        assert rude.scores["toxicity"] == 0.91 and rude.status is CommentStatus.PUBLISHED
        db.session.remove()


# -- operator privacy --------------------------------------------------------------------------

def test_privacy_export_by_email_finds_every_guest_identity_and_is_audited(app, tmp_path):
    site = make_site("news")
    thread = make_thread(site)
    first = make_user("Gus", email="gus@example.org")
    second = make_user("Gus again", email="GUS@example.org")
    make_comment(thread, first, "From the laptop.")
    make_comment(thread, second, "From the phone.")
    out = tmp_path / "gus.json"
    result = app.test_cli_runner().invoke(args=["discuss", "privacy", "export", "gus@example.org",
                                                "--output", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert sorted(c["body_markdown"] for i in data["identities"] for c in i["comments"]) == [
        "From the laptop.", "From the phone."]
    events = db.session.scalars(select(ModerationEvent).where(ModerationEvent.action == "privacy_export")).all()
    assert sorted(e.target_user_id for e in events) == [first.id, second.id]
    assert all(e.actor_label == "operator:cli" for e in events)


def test_privacy_delete_by_user_id_applies_the_site_policy_and_is_audited(app):
    site = make_site("news", account_deletion_policy="remove")
    thread = make_thread(site)
    reader = make_user("Ann", kind=AuthorKind.ACCOUNT, email="ann@example.com")
    comment = make_comment(thread, reader, "Please forget me.")
    result = app.test_cli_runner().invoke(args=["discuss", "privacy", "delete", str(reader.id), "--yes"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).status is CommentStatus.DELETED
    assert db.session.get(Comment, comment.id).body_text == ""
    user = db.session.get(User, reader.id)
    assert user.email is None and not user.is_active_account
    assert db.session.scalar(select(func.count()).select_from(ModerationEvent)
                             .where(ModerationEvent.action == "privacy_delete",
                                    ModerationEvent.target_user_id == reader.id)) == 1


def test_privacy_commands_refuse_unknown_readers_and_staff(app):
    from discuss.models import Role

    make_user("Mod", kind=AuthorKind.ACCOUNT, role=Role.MODERATOR, email="mod@example.com")
    runner = app.test_cli_runner()
    assert "does not exist" in runner.invoke(args=["discuss", "privacy", "export", "nobody@example.com"]).output.lower()
    staff = runner.invoke(args=["discuss", "privacy", "delete", "mod@example.com", "--yes"])
    assert staff.exit_code != 0 and "staff account" in staff.output
    assert runner.invoke(args=["discuss", "privacy", "export", "not-an-email"]).exit_code != 0
