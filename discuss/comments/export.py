"""Moving out: a whole site as versioned JSON Lines (docs/export-format.md), streamed.

One JSON object per line, each with a ``type``: ``header`` first, then ``site``, ``user``,
``thread``, ``comment``, ``vote``, ``report``, ``ban``, ``event`` and ``import_ref`` records,
and an ``end`` record with the counts last, so a truncated file is recognised. Timestamps are
ISO 8601 UTC with microseconds. Users carry no password hash, session, token, or IP hash;
the site carries no SSO secret or API token.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterator, TextIO

from sqlalchemy import select, union

from discuss.extensions import db
from discuss.moderation.audit import record_event
from discuss.models import (Ban, Comment, ImportRef, ModerationEvent, Report, Site, Thread, User, Vote,
                            utcnow)

FORMAT = "discuss-export"
VERSION = 1
CHUNK = 1000

USER_FIELDS = ("id", "kind", "role", "display_name", "email", "email_verified", "external_id", "avatar_url",
               "notify_replies", "notify_digest", "is_active_account", "created_at")
THREAD_FIELDS = ("id", "article_id", "url", "title", "is_closed", "is_premoderated", "published_count",
                 "revision", "created_at")
COMMENT_FIELDS = ("id", "thread_id", "parent_id", "root_id", "depth", "author_id", "author_name",
                  "body_markdown", "body_html", "body_text", "status", "reasons", "scores", "likes", "likes_base",
                  "report_count", "is_featured", "warned", "rephrased_after_warning", "moderator_decided",
                  "created_at", "edited_at", "status_changed_at")
VOTE_FIELDS = ("id", "comment_id", "user_id", "value", "created_at")
REPORT_FIELDS = ("id", "comment_id", "user_id", "reason", "note", "created_at", "resolved_at")
BAN_FIELDS = ("id", "user_id", "until", "reason", "created_by_id", "created_at", "lifted_at")
EVENT_FIELDS = ("id", "comment_id", "thread_id", "target_user_id", "actor_id", "actor_label", "action",
                "from_status", "to_status", "reasons", "note", "details", "created_at")
REF_FIELDS = ("source", "kind", "source_id", "target_id", "parent_source_id", "created_at")


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, (int, float, str, bool)):
        return value.value  # enums
    return value


def record(kind: str, row: Any, fields: tuple[str, ...], **extra: Any) -> dict[str, Any]:
    return {"type": kind, **{f: _value(getattr(row, f)) for f in fields}, **extra}


def site_records(site: Site) -> Iterator[dict[str, Any]]:
    """Every record of the site's export, in order, from ``header`` to ``end``."""
    counts: dict[str, int] = {}
    site_id = site.id
    yield {"type": "header", "format": FORMAT, "version": VERSION, "exported_at": utcnow().isoformat(),
           "site": site.slug}
    yield {"type": "site", "slug": site.slug, "name": site.name, "allowed_origins": list(site.allowed_origins or []),
           "settings": dict(site.settings or {}), "created_at": site.created_at.isoformat()}
    thread_ids = select(Thread.id).where(Thread.site_id == site.id).scalar_subquery()
    comment_ids = select(Comment.id).where(Comment.thread_id.in_(thread_ids)).scalar_subquery()
    streams = (
        ("user", _users(site, thread_ids, comment_ids), USER_FIELDS),
        ("thread", _chunks(select(Thread).where(Thread.site_id == site.id).order_by(Thread.id)), THREAD_FIELDS),
        ("comment", _chunks(select(Comment).where(Comment.thread_id.in_(thread_ids)).order_by(Comment.id)),
         COMMENT_FIELDS),
        ("vote", _chunks(select(Vote).where(Vote.comment_id.in_(comment_ids)).order_by(Vote.id)), VOTE_FIELDS),
        ("report", _chunks(select(Report).where(Report.comment_id.in_(comment_ids)).order_by(Report.id)),
         REPORT_FIELDS),
        ("ban", _chunks(select(Ban).where(Ban.site_id == site.id).order_by(Ban.id)), BAN_FIELDS),
        ("event", _chunks(select(ModerationEvent).where(ModerationEvent.site_id == site.id)
                          .order_by(ModerationEvent.id)), EVENT_FIELDS),
        ("import_ref", _chunks(select(ImportRef).where(ImportRef.site_id == site.id).order_by(ImportRef.id)),
         REF_FIELDS),
    )
    for kind, rows, fields in streams:
        counts[kind] = 0
        for row in rows:
            counts[kind] += 1
            extra = {"sso": row.sso_site_id == site_id} if kind == "user" else {}
            yield record(kind, row, fields, **extra)
    yield {"type": "end", "counts": counts}


def _users(site: Site, thread_ids, comment_ids):
    """Everyone the site's rows point at: authors, voters, reporters, banned and banning users,
    and the staff and readers named in its audit trail."""
    referenced = union(
        select(Comment.author_id).where(Comment.thread_id.in_(thread_ids)),
        select(Vote.user_id).where(Vote.comment_id.in_(comment_ids)),
        select(Report.user_id).where(Report.comment_id.in_(comment_ids)),
        select(Ban.user_id).where(Ban.site_id == site.id),
        select(Ban.created_by_id).where(Ban.site_id == site.id),
        select(ModerationEvent.actor_id).where(ModerationEvent.site_id == site.id),
        select(ModerationEvent.target_user_id).where(ModerationEvent.site_id == site.id),
        select(User.id).where(User.sso_site_id == site.id),
    ).subquery()
    # The ids once, then the users by id: keyset pages over the union itself re-ran it for every
    # page, so the export's cost grew with the square of the site (61 records/s at 1M comments).
    ids = sorted(i for i in db.session.scalars(select(referenced.c[0])) if i is not None)
    for start in range(0, len(ids), CHUNK):
        rows = list(db.session.scalars(select(User).where(User.id.in_(ids[start:start + CHUNK])).order_by(User.id)))
        yield from rows
        for row in rows:
            db.session.expunge(row)


def _chunks(query) -> Iterator[Any]:
    """Keyset pages of CHUNK rows, each page's objects dropped from the session after use."""
    entity = query.column_descriptions[0]["entity"]
    last = 0
    while True:
        rows = list(db.session.scalars(query.where(entity.id > last).limit(CHUNK)))
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        for row in rows:
            db.session.expunge(row)


def export_site(site: Site, out: TextIO) -> dict[str, int]:
    """Write the site's export to ``out``; returns the counts per record type."""
    counts: dict[str, int] = {}
    for item in site_records(site):
        if item["type"] == "end":
            counts = item["counts"]
        out.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
    return counts


def export_lines(site: Site) -> Iterator[str]:
    """The same export as text lines, for a streamed download."""
    for item in site_records(site):
        yield json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n"


def audit_export(site: Site, actor: User | None, actor_label: str) -> None:
    """Record who took a copy of the site's data (the dashboard download), before it streams."""
    record_event(site_id=site.id, action="export", actor=actor, actor_label=actor_label)
    db.session.commit()
