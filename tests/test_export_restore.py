"""Full-site export (JSON Lines) and restore (`import discuss`): the public API answers byte
for byte as before, on SQLite and (with DISCUSS_TEST_DATABASE_URL) PostgreSQL."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, func, select

from discuss.extensions import db
from discuss.identity.staff import Actor
from discuss.models import (AuthorKind, Comment, CommentStatus, ModerationEvent, Report, Role, Site, Thread,
                            User, Vote)
from discuss.moderation.actions import apply_comment_action, ban_author
from tests.factories import ban, make_comment, make_site, make_thread, make_user
from tests.support import portability as fx

SORTS = ("oldest", "newest", "top")


def seed_site() -> Site:
    """A site with every kind of row: nesting, each status, likes and votes, featured, reports,
    a ban, audit events, account/SSO/guest/staff users, and an imported thread."""
    site = make_site("news", origins=["https://news.example.com"], max_depth=4, banned_words=["spamword"])
    site.sso_secret = "sso-secret-never-exported"
    site.api_token_hash = "token-hash-never-exported"
    admin = make_user("Admin", kind=AuthorKind.ACCOUNT, role=Role.ADMIN, email="admin@news.example.com",
                      password_hash="pbkdf2:never-exported")
    account = make_user("Ann", kind=AuthorKind.ACCOUNT, email="ann@example.com", password_hash="pbkdf2:secret",
                        avatar_url="https://img.example/ann.png")
    sso = make_user("Sam", kind=AuthorKind.SSO, sso_site_id=site.id, external_id="cms-42")
    guest = make_user("Gus", email="gus@example.org")
    for number in range(3):
        thread = make_thread(site, f"article-{number}", is_closed=number == 2)
        root = make_comment(thread, account, f"Root **{number}** with <b>html</b> 😀")
        reply = make_comment(thread, sso, "A reply.", parent=root)
        make_comment(thread, guest, "A reply to the reply.", parent=reply)
        make_comment(thread, guest, "Held.", status=CommentStatus.PENDING, reasons=["toxicity:insult"],
                     scores={"toxicity": 0.9})
        gone = make_comment(thread, guest, "Soon removed.")
        make_comment(thread, account, "Under the removed one.", parent=gone)
        db.session.add_all([Vote(comment_id=root.id, user_id=guest.id, value=1),
                            Vote(comment_id=root.id, user_id=sso.id, value=1),
                            Report(comment_id=reply.id, user_id=guest.id, reason="spam", note="ads")])
        root.likes = 2
        db.session.commit()
        actor = Actor.for_user(admin)
        apply_comment_action(actor, gone, "remove", note="off topic")
        apply_comment_action(actor, reply, "feature")
    ban(site, make_user("Troll"), days=3)
    ban_author(Actor.for_user(admin), site.id, guest.id, days=1, reason="cooling off")
    return site


def public_pages(client, site_slug: str, articles: list[str]) -> dict[tuple[str, str], bytes]:
    pages = {}
    for article in articles:
        for sort in SORTS:
            for limit in ("2", "50"):
                response = client.get("/api/v1/comments", query_string={"site": site_slug, "article": article,
                                                                       "sort": sort, "limit": limit})
                assert response.status_code == 200
                pages[(article, sort + limit)] = response.data
    counts = client.post("/api/v1/counts", json={"site": site_slug, "articles": articles})
    pages[("counts", "")] = counts.data
    return pages


def wipe_database() -> None:
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(delete(table))
    db.session.commit()


def export_file(app, tmp_path, slug="news"):
    path = tmp_path / "site.jsonl"
    result = app.test_cli_runner().invoke(args=["discuss", "export", slug, "--output", str(path)])
    assert result.exit_code == 0, result.output
    return path


def records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_export_is_versioned_complete_and_has_no_secrets(app, tmp_path):
    seed_site()
    path = export_file(app, tmp_path)
    items = records(path)
    assert items[0]["type"] == "header" and items[0]["version"] == 1 and items[0]["format"] == "discuss-export"
    assert items[-1]["type"] == "end"
    kinds = {item["type"] for item in items}
    assert {"site", "user", "thread", "comment", "vote", "report", "ban", "event"} <= kinds
    assert items[-1]["counts"]["comment"] == 18 and items[-1]["counts"]["vote"] == 6
    text = path.read_text(encoding="utf-8")
    for secret in ("never-exported", "pbkdf2", "password_hash", "sso_secret", "api_token", "ip_hash"):
        assert secret not in text
    comment = next(i for i in items if i["type"] == "comment" and i["status"] == "pending")
    assert comment["reasons"] == ["toxicity:insult"] and comment["scores"] == {"toxicity": 0.9}


def test_round_trip_into_an_empty_database_answers_byte_identically(make_app, tmp_path):
    app = make_app()
    with app.app_context():
        seed_site()
        site = db.session.scalar(select(Site))
        fx_path = tmp_path / "d.xml"
        fx_path.write_bytes(fx.disqus_xml(fx.scenario(("pending", "spam", "deleted"))))
        assert app.test_cli_runner().invoke(args=["discuss", "import", "disqus", str(fx_path),
                                                  "--site", "news"]).exit_code == 0
        articles = list(db.session.scalars(select(Thread.article_id).where(Thread.site_id == site.id)))
        before = public_pages(app.test_client(), "news", articles)
        path = export_file(app, tmp_path)
        wipe_database()
        result = app.test_cli_runner().invoke(args=["discuss", "import", "discuss", str(path), "--site", "news"])
        assert result.exit_code == 0, result.output
        assert "kept_ids=1" in result.output
    fresh = make_app()  # a new process: no cached pages
    with fresh.app_context():
        after = public_pages(fresh.test_client(), "news", articles)
        assert after == before
        # the restored site keeps working: ids continue after the restored ones (PostgreSQL sequences)
        response = fresh.test_client().post("/api/v1/comments", json={
            "site": "news", "article": "article-0", "body": "After the restore.", "author_name": "New"})
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["comment"]["id"] > max(db.session.scalars(select(Comment.id)
                                                                              .where(Comment.body_text != "After the restore.")))
        # staff come back as plain identities, without passwords
        assert db.session.scalar(select(func.count()).select_from(User).where(User.role != Role.READER)) == 0
        assert db.session.scalar(select(func.count()).select_from(User).where(User.password_hash.is_not(None))) == 0
        sso = db.session.scalar(select(User).where(User.external_id == "cms-42"))
        assert sso.sso_site_id == db.session.scalar(select(Site.id).where(Site.slug == "news"))
        # and a second import of the same Disqus file still adds nothing (import refs travel along)
        fx_result = fresh.test_cli_runner().invoke(args=["discuss", "import", "disqus", str(tmp_path / "d.xml"),
                                                         "--site", "news"])
        assert "comments=0" in fx_result.output


def _without_ids(body: bytes):
    def strip(node):
        if isinstance(node, dict):
            if "permalink" in node:  # the article URL is kept; the fragment names the new id
                assert node["permalink"].endswith(f"#discuss-comment-{node['id']}")
                node = {**node, "permalink": node["permalink"].rsplit("#", 1)[0]}
            return {k: strip(v) for k, v in node.items() if k not in ("id", "parent_id", "next_cursor", "last_id")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node
    return strip(json.loads(body))


def test_restore_under_a_new_slug_beside_existing_data_maps_every_id(app, tmp_path):
    seed_site()
    articles = [f"article-{n}" for n in range(3)]
    before = public_pages(app.test_client(), "news", articles)
    path = export_file(app, tmp_path)
    result = app.test_cli_runner().invoke(args=["discuss", "import", "discuss", str(path), "--site", "copy"])
    assert result.exit_code == 0, result.output
    assert "kept_ids=0" in result.output
    after = public_pages(app.test_client(), "copy", articles)
    assert {k: _without_ids(v) for k, v in after.items()} == {k: _without_ids(v) for k, v in before.items()}
    # the account reader is the same person on both sites (matched by email), not a copy
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "ann@example.com")) == 1
    copy = db.session.scalar(select(Site).where(Site.slug == "copy"))
    assert db.session.scalar(select(func.count()).select_from(ModerationEvent)
                             .where(ModerationEvent.site_id == copy.id, ModerationEvent.action == "restore")) == 1


def test_restore_refuses_an_existing_slug_a_truncated_file_and_another_version(app, tmp_path):
    seed_site()
    path = export_file(app, tmp_path)
    comments = db.session.scalar(select(func.count()).select_from(Comment))
    runner = app.test_cli_runner()
    same = runner.invoke(args=["discuss", "import", "discuss", str(path), "--site", "news"])
    assert same.exit_code != 0 and "already exists" in same.output

    lines = path.read_text(encoding="utf-8").splitlines()
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[: len(lines) - 5]) + "\n", encoding="utf-8")
    result = runner.invoke(args=["discuss", "import", "discuss", str(cut), "--site", "copy"])
    assert result.exit_code != 0 and "truncated discuss export: no end record" in result.output

    torn = tmp_path / "torn.jsonl"
    torn.write_text("\n".join(lines[:20]) + "\n" + lines[20][:15], encoding="utf-8")
    result = runner.invoke(args=["discuss", "import", "discuss", str(torn), "--site", "copy"])
    assert result.exit_code != 0 and "malformed discuss export at line 21" in result.output

    future = tmp_path / "future.jsonl"
    header = json.loads(lines[0]) | {"version": 99}
    future.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n", encoding="utf-8")
    result = runner.invoke(args=["discuss", "import", "discuss", str(future), "--site", "copy"])
    assert result.exit_code != 0 and "version 99 is not supported" in result.output

    assert db.session.scalar(select(Site.id).where(Site.slug == "copy")) is None
    assert db.session.scalar(select(func.count()).select_from(Comment)) == comments


@pytest.mark.parametrize("dry_run", [True])
def test_restore_dry_run_writes_nothing(app, tmp_path, dry_run):
    seed_site()
    path = export_file(app, tmp_path)
    result = app.test_cli_runner().invoke(args=["discuss", "import", "discuss", str(path), "--site", "copy",
                                                "--dry-run"])
    assert result.exit_code == 0 and "dry run" in result.output
    assert db.session.scalar(select(Site.id).where(Site.slug == "copy")) is None


# -- dashboard download ------------------------------------------------------------------------

def test_admins_download_the_same_export_from_the_settings_page(client, app, tmp_path):
    from tests.dashboard_support import make_staff, sign_in

    site = seed_site()
    admin = make_staff("boss@news.example.com", Role.ADMIN)
    moderator = make_staff("mod@news.example.com", Role.MODERATOR, sites=[site])
    sign_in(client, admin)
    settings = client.get("/mod/sites/news/settings")
    assert b"/mod/sites/news/export" in settings.data
    response = client.get("/mod/sites/news/export")
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    assert "attachment" in response.headers["Content-Disposition"]
    downloaded = [json.loads(line) for line in response.data.decode().splitlines()]
    from_cli = records(export_file(app, tmp_path))
    strip = lambda items: [{k: v for k, v in i.items() if k != "exported_at"} for i in items  # noqa: E731
                           if i["type"] != "event" or i["action"] != "export"]
    assert strip(downloaded)[:-1] == strip(from_cli)[:-1]
    assert db.session.scalar(select(func.count()).select_from(ModerationEvent)
                             .where(ModerationEvent.action == "export", ModerationEvent.actor_id == admin.id)) == 1

    sign_in(client, moderator)  # moderators may not take the whole site's data
    assert client.get("/mod/sites/news/export").status_code == 403
    sign_in(client, None)
    assert client.get("/mod/sites/news/export").status_code == 302
