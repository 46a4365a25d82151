"""The ceiling for bench/writes.py: a bare Flask app that does a post's writes and nothing else.

The same gunicorn set-up, the same SQLite schema (seeded by discuss's migrations) and the same
durability (WAL, synchronous=NORMAL, as discuss.storage sets), and per request exactly the
statements a discuss guest post writes in one transaction: INSERT the guest, INSERT the comment,
set its root id, INSERT the audit row, bump the thread's count and revision. No validation, no
sanitizing, no rate limit, no ORM: what the machine allows for those writes through Flask and
gunicorn. Served with ``gunicorn bench.writes_ceiling_app:app`` (bench/writes.py --ceiling).
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from datetime import datetime, timezone

from flask import Flask, jsonify, request

app = Flask(__name__)
_connection: sqlite3.Connection | None = None


def connection() -> sqlite3.Connection:
    global _connection
    if _connection is None:  # one per worker process, opened after the fork
        path = os.environ["CEILING_DATABASE"]
        _connection = sqlite3.connect(path, timeout=15, isolation_level=None)
        _connection.execute("PRAGMA journal_mode=WAL")
        _connection.execute("PRAGMA synchronous=NORMAL")
        _connection.execute("PRAGMA foreign_keys=ON")
    return _connection


@app.post("/api/v1/comments")
def post():
    data = request.get_json()
    now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(" ")
    ip_hash = hashlib.sha1((request.remote_addr or "").encode()).hexdigest()
    body, name = data["body"], data["author_name"]
    db = connection()
    db.execute("BEGIN IMMEDIATE")
    try:
        (site_id, thread_id), = db.execute(
            "SELECT site.id, thread.id FROM site JOIN thread ON thread.site_id = site.id "
            "WHERE site.slug = ? AND thread.article_id = ?", (data["site"], data["article"])).fetchall()
        user_id = db.execute(
            "INSERT INTO user (kind, role, display_name, email, email_verified, moderated_site_ids, notify_replies, "
            "notify_digest, is_active_account, session_version, created_at) VALUES "
            "('GUEST', 'READER', ?, NULL, 0, '[]', 0, 0, 1, 0, ?) RETURNING id", (name, now)).fetchone()[0]
        comment_id = db.execute(
            "INSERT INTO comment (thread_id, parent_id, root_id, depth, author_id, author_name, body_markdown, "
            "body_html, body_text, status, reasons, scores, ip_hash, likes, likes_base, report_count, is_featured, "
            "warned, rephrased_after_warning, moderator_decided, created_at, status_changed_at) VALUES "
            "(?, NULL, NULL, 0, ?, ?, ?, ?, ?, 'PUBLISHED', '[]', NULL, ?, 0, 0, 0, 0, 0, 0, 0, ?, ?) RETURNING id",
            (thread_id, user_id, name, body, f"<p>{body}</p>", body, ip_hash, now, now)).fetchone()[0]
        db.execute("UPDATE comment SET root_id = id WHERE id = ?", (comment_id,))
        db.execute(
            "INSERT INTO moderation_event (site_id, comment_id, thread_id, target_user_id, actor_id, actor_label, "
            "action, from_status, to_status, reasons, note, details, created_at) VALUES "
            "(?, ?, ?, ?, NULL, 'pipeline', 'create', NULL, 'published', '[]', NULL, ?, ?)",
            (site_id, comment_id, thread_id, user_id, json.dumps({"scoring": "off"}), now))
        db.execute("UPDATE thread SET published_count = published_count + 1, revision = revision + 1 WHERE id = ?",
                   (thread_id,))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return jsonify({"comment": {"id": comment_id, "body_html": f"<p>{body}</p>", "author_name": name},
                    "status": "published"}), 201


@app.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})
