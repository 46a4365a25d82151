"""Importers: each format's fixture (see tests/support/portability.py) through the real CLI,
then read back through the public API."""
from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from discuss.extensions import db
from discuss.models import Comment, CommentStatus, ImportRef, ModerationEvent, Thread, User
from tests.factories import make_site
from tests.support import portability as fx
from tests.support.api import flatten

ARTICLE_A = "https://news.example.com/2021/budget"


def build(fmt: str, path, s: fx.Scenario) -> str:
    if fmt == "disqus":
        path.write_bytes(fx.disqus_xml(s))
    elif fmt == "wordpress":
        path.write_bytes(fx.wordpress_wxr(s))
    elif fmt == "remark42":
        path.write_bytes(fx.remark42_backup(s))
    elif fmt == "commento":
        path.write_bytes(fx.commento_json(s))
    elif fmt == "comentario":
        path.write_bytes(fx.comentario_json(s))
    else:
        fx.isso_database(s, str(path))
    return str(path)


# The statuses each format can express, and whether its bodies are HTML.
FORMATS = {
    "disqus": dict(states=("pending", "spam", "deleted"), unknown=None, html=True),
    "wordpress": dict(states=("pending", "spam", "deleted"), unknown="weird", html=True),
    "remark42": dict(states=("deleted",), unknown=None, html=True),
    "commento": dict(states=("pending", "spam", "deleted"), unknown="weird", html=False),
    # Comentario v3 has no spam flag; a comment neither approved nor pending was rejected by its moderators
    "comentario": dict(states=("pending", "deleted"), unknown="rejected", html=False),
    "isso": dict(states=("pending", "deleted"), unknown="mode_8", html=False),
}


def run(app, *args):
    return app.test_cli_runner().invoke(args=["discuss", "import", *args])


def read(client, article=ARTICLE_A):
    response = client.get("/api/v1/comments", query_string={"site": "news", "article": article, "limit": 200})
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture
def site(app):
    return make_site("news", origins=["https://news.example.com"])


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_import_keeps_shape_statuses_and_sanitizes(app, client, site, tmp_path, fmt):
    spec = FORMATS[fmt]
    s = fx.scenario(spec["states"], unknown=spec["unknown"] and ("weird" if fmt != "isso" else "x"),
                    html=spec["html"])
    path = build(fmt, tmp_path / f"archive.{fmt}", s)

    result = run(app, fmt, path, "--site", "news")
    assert result.exit_code == 0, result.output
    assert "imported:" in result.output

    page = read(client)
    assert page["thread"]["url"] == ARTICLE_A
    nodes = {n["author"]["name"] if n["author"] else f"deleted:{n['id']}": n for n in flatten(page["comments"])}
    root = nodes["Zoë Ünicode"]
    # nesting: Carl replied to Bob who replied to Zoë (Isso itself keeps one level only)
    assert nodes["Bob"]["parent_id"] == root["id"]
    assert nodes["Carl"]["parent_id"] == (root["id"] if fmt == "isso" else nodes["Bob"]["id"])
    assert nodes["Bob"]["created_at"] == "2021-03-02T12:30:15Z"
    # sanitized on the way in; unicode intact
    assert "wörld" in root["html"] and "😀" in root["html"]
    for bad in ("<script", "href=\"javascript", "onclick=", "onerror=", "<img"):
        assert bad not in root["html"]
    assert page["thread"]["published_count"] == 4 if "deleted" in spec["states"] else 3

    by_status = dict(db.session.execute(select(Comment.status, func.count()).group_by(Comment.status)).all())
    assert by_status.get(CommentStatus.REJECTED, 0) == (1 if "spam" in spec["states"] else 0)
    held = db.session.scalars(select(Comment).where(Comment.status == CommentStatus.PENDING)).all()
    reasons = sorted(r for c in held for r in c.reasons)
    expected = (["imported_pending"] if "pending" in spec["states"] else []) + (
        [f"imported_state:{spec['unknown']}"] if spec["unknown"] else [])
    assert reasons == sorted(expected)
    if "spam" in spec["states"]:
        assert db.session.scalar(select(Comment.reasons).where(Comment.status == CommentStatus.REJECTED)) == [
            "imported_spam"]
    deleted = db.session.scalars(select(Comment).where(Comment.status == CommentStatus.DELETED)).all()
    assert len(deleted) == 1 and deleted[0].body_markdown == deleted[0].body_html == deleted[0].body_text == ""
    # the deleted comment stays as a placeholder because Eve replied to it
    assert any(n["status"] == "deleted" and n["replies"] for n in flatten(page["comments"]))
    # thread B and its count
    sport = read(client, "https://news.example.com/2021/sport")
    assert sport["thread"]["published_count"] == (2 if fmt in ("commento", "comentario") else 1)
    if fmt == "commento":  # Commento's anonymous commenter has no name
        assert [n["author"]["name"] for n in sport["comments"]] == ["Zoë Ünicode", "Anonymous"]
    if fmt == "comentario":  # an unregistered commenter is named by authorName; the edit time is kept
        assert [n["author"]["name"] for n in sport["comments"]] == ["Zoë Ünicode", "Passer-by"]
        assert db.session.scalar(select(Comment.edited_at).where(Comment.body_text == "Anonymous words.")) \
            .isoformat() == "2021-03-24T08:00:00+00:00"
        assert page["thread"]["title"] == "Budget — 2021"
        assert nodes["Zoë Ünicode"]["featured"] is True  # isSticky
    # emails stored as a guest's are; one guest per person
    if fmt != "remark42":
        zoe = db.session.scalars(select(User).where(User.display_name == "Zoë Ünicode")).all()
        assert [u.email for u in zoe] == ["Zoe@Example.org"]
    # the import is audited once
    assert db.session.scalar(select(func.count()).select_from(ModerationEvent)
                             .where(ModerationEvent.action == "import")) == 1


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_import_is_idempotent_and_a_larger_export_adds_only_what_is_new(app, site, tmp_path, fmt):
    spec = FORMATS[fmt]
    s = fx.scenario(spec["states"], html=spec["html"])
    first = build(fmt, tmp_path / "one", s)
    assert run(app, fmt, first, "--site", "news").exit_code == 0
    count = db.session.scalar(select(func.count()).select_from(Comment))
    users = db.session.scalar(select(func.count()).select_from(User))

    again = run(app, fmt, first, "--site", "news")
    assert again.exit_code == 0, again.output
    assert f"skipped {count}: already_imported" in again.output
    assert db.session.scalar(select(func.count()).select_from(Comment)) == count
    assert db.session.scalar(select(func.count()).select_from(User)) == users

    later = replace(s, posts=s.posts + [fx.Post("c40", "A", "Bob", None, fx.at(25), parent="c2", body="Later.")])
    bigger = build(fmt, tmp_path / "two", later)
    result = run(app, fmt, bigger, "--site", "news")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(Comment)) == count + 1
    new = db.session.scalar(select(Comment).where(Comment.body_text == "Later."))
    bob = db.session.scalar(select(Comment).where(Comment.body_text == "Second level."))
    assert new.parent_id == (bob.parent_id if fmt == "isso" else bob.id)
    assert new.depth == (1 if fmt == "isso" else 2)


def test_dry_run_writes_nothing(app, site, tmp_path):
    path = build("disqus", tmp_path / "d.xml", fx.scenario(("spam",)))
    result = run(app, "disqus", path, "--site", "news", "--dry-run")
    assert result.exit_code == 0 and "dry run, nothing written" in result.output
    assert "comments=5" in result.output
    for model in (Comment, Thread, ImportRef):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0


def test_article_ids_from_the_source_identifier(app, client, site, tmp_path):
    path = build("disqus", tmp_path / "d.xml", fx.scenario(()))
    assert run(app, "disqus", path, "--site", "news", "--article-from", "identifier").exit_code == 0
    page = read(client, "budget-2021")
    assert page["thread"]["url"] == ARTICLE_A and page["thread"]["title"] == "Budget — 2021"
    assert page["thread"]["published_count"] == 3


def test_imported_likes_survive_a_new_vote(app, client, site, tmp_path):
    path = build("remark42", tmp_path / "r.gz", fx.scenario(()))
    assert run(app, "remark42", path, "--site", "news").exit_code == 0
    root = next(n for n in read(client)["comments"] if n["author"]["name"] == "Zoë Ünicode")
    assert root["likes"] == 3 and root["featured"] is True
    assert client.post(f"/api/v1/comments/{root['id']}/votes", json={"value": 1}).get_json()["likes"] == 4


def test_wordpress_skips_pingbacks_and_reads_older_wxr_namespaces(app, site, tmp_path):
    path = tmp_path / "wp.xml"
    path.write_bytes(fx.wordpress_wxr(fx.scenario(()), version="1.1"))
    result = run(app, "wordpress", str(path), "--site", "news")
    assert result.exit_code == 0, result.output
    assert "skipped 1: pingback_not_a_comment" in result.output
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 4


# -- bad files ---------------------------------------------------------------------------------

def _nothing_written():
    for model in (Comment, Thread, ImportRef):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0


def test_truncated_disqus_is_refused_with_its_line_and_nothing_is_left(app, site, tmp_path):
    path = tmp_path / "d.xml"
    # big enough that whole batches are written before the parser reaches the cut
    many = fx.scenario(())
    many.posts = [fx.Post(f"n{i}", "A", f"P{i}", None, fx.at(1 + i % 20)) for i in range(2500)]
    path.write_bytes(fx.disqus_xml(many, truncate=True))
    result = run(app, "disqus", str(path), "--site", "news")
    assert result.exit_code != 0
    assert "malformed or truncated Disqus XML at line" in result.output
    assert "nothing was imported" in result.output
    _nothing_written()


@pytest.mark.parametrize("fmt,content,message", [
    ("disqus", b'<?xml version="1.0"?><disqus xmlns="http://disqus.com"><thread></disqus>',
     "malformed or truncated Disqus XML at line 1"),
    ("disqus", b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><disqus xmlns="http://disqus.com">&a;</disqus>',
     "DTDs and entities are not accepted"),
    ("disqus", b'<?xml version="1.0"?><rss></rss>', "not a Disqus file"),
    ("wordpress", b'<?xml version="1.0"?><rss><channel><item><wp:comment>', "WordPress WXR XML at line 1"),
    ("remark42", b'{"version":1,"users":[],"posts":[]}\n{"id":"a","locator":{"url":"https://x/"},"time":"2021-01-01T00:00:00Z"}\n{"id":"b","loc',
     "malformed or truncated Remark42 backup at line 3"),
    ("remark42", b'{"comments":[]}\n', "not a Remark42 backup"),
    ("commento", b'{"version": 1, "comments": [{"commentHex": "a", "url": "/x", "creationDate": "2021-01-01T00:00:00Z",',
     "malformed or truncated Commento/Comentario JSON"),
    ("commento", b'{"version": 2, "comments": []}', "not a Commento or Comentario export"),
    ("comentario", b'{"version": 3, "pages": [{"id": "p", "path": "/x"}], "comments": [{"id": "a", "pageId": "p",',
     "malformed or truncated Commento/Comentario JSON"),
    ("isso", b"this is not a database at all, just some text" * 100, "not an Isso database"),
])
def test_bad_files_are_refused_clearly(app, site, tmp_path, fmt, content, message):
    path = tmp_path / "bad"
    path.write_bytes(content)
    result = run(app, fmt, str(path), "--site", "news")
    assert result.exit_code != 0
    assert message in result.output, result.output
    _nothing_written()


def test_truncated_gzip_remark42_is_refused(app, site, tmp_path):
    data = fx.remark42_backup(fx.scenario(()), gzipped=True)
    path = tmp_path / "r.gz"
    path.write_bytes(data[: len(data) - 20])
    result = run(app, "remark42", str(path), "--site", "news")
    assert result.exit_code != 0 and "nothing was imported" in result.output
    _nothing_written()


def test_remark42_cut_at_a_line_boundary_names_the_pages_the_metadata_lists_but_the_file_lacks(app, site, tmp_path):
    # Remark42 writes no count or end marker: a cut between lines is a valid shorter backup. The metadata still
    # lists every page, and comments come page by page, so the pages cut off whole are named.
    lines = fx.remark42_backup(fx.scenario(()), gzipped=False).splitlines(keepends=True)
    path = tmp_path / "cut.json"
    path.write_bytes(b"".join(lines[:-1]))  # the last line is thread B's only comment
    result = run(app, "remark42", str(path), "--site", "news")
    assert result.exit_code == 0, result.output
    assert "check: 1 page(s) listed in the backup's metadata have no comment in it " \
           "(first: https://news.example.com/2021/sport)" in result.output
    whole = tmp_path / "whole.json"
    whole.write_bytes(b"".join(lines))
    again = run(app, "remark42", str(whole), "--site", "news")
    assert again.exit_code == 0 and "check:" not in again.output
    assert "comments=1 " in again.output  # the rerun adds only what the cut lost


def test_isso_database_without_isso_tables_is_refused(app, site, tmp_path):
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    result = run(app, "isso", str(path), "--site", "news")
    assert result.exit_code != 0 and "no 'threads' and 'comments' tables" in result.output


def test_unknown_site_is_refused(app, tmp_path):
    path = build("disqus", tmp_path / "d.xml", fx.scenario(()))
    result = run(app, "disqus", path, "--site", "nope")
    assert result.exit_code != 0 and "no site 'nope'" in result.output


def test_an_id_listed_twice_in_one_file_is_imported_once(app, site, tmp_path):
    s = fx.scenario(())
    many = [fx.Post(f"n{i}", "A", f"P{i}", None, fx.at(1 + i % 20), body=f"Comment {i}.") for i in range(1500)]
    s.posts = s.posts + many + [fx.Post("n3", "A", "Again", None, fx.at(2), body="Same id, later batch."),
                                fx.Post("c1", "A", "Again", None, fx.at(2), body="Same id, same batch.")]
    path = build("disqus", tmp_path / "d.xml", s)
    result = run(app, "disqus", path, "--site", "news")
    assert result.exit_code == 0, result.output
    assert "skipped 2: duplicate_id_in_file" in result.output
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 1504


def test_an_existing_thread_page_and_count_are_fresh_right_after_an_import(app, client, site, tmp_path):
    posted = client.post("/api/v1/comments", json={"site": "news", "article": ARTICLE_A, "body": "Posted here first.",
                                                    "author_name": "Local"})
    assert posted.status_code == 201
    assert read(client)["thread"]["published_count"] == 1  # now cached in this process
    counts = client.post("/api/v1/counts", json={"site": "news", "articles": [ARTICLE_A]}).get_json()
    assert counts["counts"][ARTICLE_A] == 1
    path = build("disqus", tmp_path / "d.xml", fx.scenario(()))
    assert run(app, "disqus", path, "--site", "news").exit_code == 0
    page = read(client)
    assert page["thread"]["published_count"] == 4
    assert len(flatten(page["comments"])) == 4
    assert client.post("/api/v1/counts", json={"site": "news", "articles": [ARTICLE_A]}).get_json()[
        "counts"][ARTICLE_A] == 4


def test_bulk_writes_store_datetimes_exactly_as_sqlalchemy_does():
    # bulk.py formats SQLite datetimes itself, for speed: ordering and equality compare these strings
    from datetime import datetime, timedelta, timezone

    from sqlalchemy.dialects import sqlite

    from discuss.comments.importers import bulk
    from discuss.models.types import UTCDateTime

    dialect = sqlite.dialect()
    reference = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    for moment in (datetime(2021, 3, 1, 12, 30, 15, tzinfo=timezone.utc),
                   datetime(2021, 3, 1, 0, 30, 15, 123, tzinfo=timezone(timedelta(hours=2))),
                   datetime(999, 1, 1, tzinfo=timezone.utc)):
        assert bulk._processor(UTCDateTime(), dialect)(moment) == reference(moment)
    with pytest.raises(ValueError):
        bulk._sqlite_utc(datetime(2021, 3, 1))
