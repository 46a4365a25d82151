"""Comment endpoints. Views only translate HTTP to service calls and back."""
from __future__ import annotations

from flask import current_app, jsonify, request
from flask_babel import force_locale

from discuss.api import bp, caching, schemas
from discuss.api.cors import add_cors_headers, check_origin, preflight
from discuss.api.helpers import config, json_body, request_ip_hash, viewer
from discuss.errors import ApiError, NotFound, ValidationFailed
from discuss.extensions import csrf, db, limiter
from discuss.locales import DEFAULT_LANGUAGE, N_, best_match, localize
from discuss.models import AuthorKind, Comment
from discuss.net import client_ip
from discuss.sanitize import render_markdown
from discuss.security import parse_int_arg
from discuss.comments import posting as comment_service
from discuss.comments import proof_of_work
from discuss.comments import reactions
from discuss.comments import reading
from discuss.comments.serializers import public_comment_of, viewer_summary
from discuss.models.queries import require_site

csrf.exempt(bp)  # bearer tokens, not cookies: cross-site request forgery has nothing to ride on
bp.before_request(preflight)
bp.after_request(add_cors_headers)

HELD_MESSAGE = N_("Thanks! Your comment will appear once a moderator has reviewed it.")


def _author_rate_key() -> str:
    # Keyed on the identity, not the token string, so re-issued tokens share one budget.
    reader = viewer(required_if_sent=False)
    if reader is not None:
        return f"author:{reader.id}"
    payload = request.get_json(silent=True) or {}
    name = payload.get("author_name") if isinstance(payload, dict) else None
    return f"guest:{client_ip()}:{name if isinstance(name, str) else ''}"


def _post_limit() -> str:
    return current_app.config["RATE_LIMIT_POST_PER_IP"]


def _author_limit() -> str:
    return current_app.config["RATE_LIMIT_POST_PER_AUTHOR"]


def _write_limit() -> str:
    return current_app.config["RATE_LIMIT_WRITE_PER_IP"]


def _comment_response(result: comment_service.PostResult, created: bool):
    # Built from what the service copied before its commit: no database access here, so a
    # stored comment is always answered with its id (see PostResult).
    body = {"comment": result.comment, "status": result.status.value, "viewer": result.viewer}
    if result.author_kind is AuthorKind.GUEST:  # others hold a revocable session token already
        body["author_token"] = result.author_token
    if result.published:
        return jsonify(body), 201 if created else 200
    if result.rejection is not None:
        # Its own answer, not the held one: the comment will not appear. Whether the author is
        # told why is the site's rejection_feedback setting.
        body.update(result.rejection)
        body["message"] = _in_readers_language(result.rejection["message"])
        return jsonify(body), 200
    body["message"] = _in_readers_language(HELD_MESSAGE)
    return jsonify(body), 202


def _in_readers_language(message: str) -> str:
    """The held or rejected message in the reader's language: the first of Accept-Language (the
    widget sends its own language) that we ship, else English. Codes and reasons stay the same."""
    language = best_match(request.accept_languages.values()) or DEFAULT_LANGUAGE
    with force_locale(language):
        return localize(message)


@bp.get("/comments")
def list_comments():
    site_slug, article = request.args.get("site", ""), request.args.get("article", "")
    problems = {name: "is required" for name, value in (("site", site_slug), ("article", article)) if not value}
    if problems:
        raise ValidationFailed(problems)
    page = reading.PageRequest(sort=_sort_arg(), limit=_limit_arg(), cursor=request.args.get("cursor") or None)
    if page.cursor:
        reading.decode_cursor(page.cursor, page.sort)  # a bad cursor is a 400 even on an empty thread
    site, thread = reading.thread_and_site(site_slug, article)
    if site is None:
        raise ApiError("unknown_site", f"No site '{site_slug}' is registered here.", 404)
    check_origin(site)
    reader = viewer(required_if_sent=False)
    if reader is None:  # the public page, the same for everyone: cacheable (discuss/api/caching.py)
        etag = reading.page_etag(site, thread, article, page)
        cached = caching.not_modified(site, etag)
        if cached is not None:
            return cached
        _, encoded = reading.read_thread(site, thread, article, page)
        return caching.public_page(encoded, site, etag)
    body, _ = reading.read_thread(site, thread, article, page)
    pending = reading.own_pending(thread, reader) if thread is not None else []
    merged = reading.merge_own_pending(body, pending, first_page=page.cursor is None)
    if thread is not None:
        reading.add_own_markdown(merged, thread, reader)  # so the author edits Markdown, not HTML
    merged["viewer"] = viewer_summary(reader)
    return jsonify(merged)


def _sort_arg() -> str:
    sort = request.args.get("sort", "oldest")
    if sort not in reading.SORTS:
        raise ValidationFailed({"sort": "must be one of: " + ", ".join(reading.SORTS)})
    return sort


def _limit_arg() -> int:
    try:
        limit = parse_int_arg(request.args.get("limit"), 1, config("MAX_PAGE_LIMIT"))
    except ValueError:
        raise ValidationFailed({"limit": f"must be a whole number from 1 to {config('MAX_PAGE_LIMIT')}"}) from None
    return config("DEFAULT_PAGE_LIMIT") if limit is None else limit


@bp.get("/comments/<int:comment_id>/context")
def comment_context(comment_id: int):
    """A permalinked comment, its ancestors and its place in the thread (for the widget and
    for anyone linking to one comment)."""
    site, body = reading.comment_context(comment_id, _sort_arg())
    check_origin(site)
    return jsonify(body)


@bp.post("/comments")
@limiter.limit(_post_limit, key_func=client_ip)
@limiter.limit(_author_limit, key_func=_author_rate_key)
def create_comment():
    data = json_body(schemas.comment_create_schema(config("MAX_BODY_CHARS"), config("MAX_NAME_CHARS")))
    schemas.check_http_url(data["article_url"], "article_url")
    schemas.check_email(data["author_email"])
    site = require_site(data["site"])
    check_origin(site)
    result = comment_service.post_comment(comment_service.NewComment(
        site=data["site"], article=data["article"], body=data["body"], article_url=data["article_url"] or None,
        article_title=data["article_title"] or None, parent_id=data["parent_id"],
        author_name=data["author_name"], author_email=data["author_email"], honeypot=data["website"],
        acknowledge_warning=bool(data["acknowledge_warning"]), warning_token=data["warning_token"],
        ip_hash=request_ip_hash(), viewer=viewer(), proof=data["altcha"]), site=site)
    return _comment_response(result, created=True)


def _site_of(comment_id: int):
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        raise NotFound("comment")
    check_origin(comment.thread.site)


@bp.patch("/comments/<int:comment_id>")
@limiter.limit(_write_limit, key_func=client_ip)
def edit_comment(comment_id: int):
    data = json_body(schemas.comment_edit_schema(config("MAX_BODY_CHARS")))
    _site_of(comment_id)
    return _comment_response(comment_service.edit_comment(comment_id, viewer(), data["body"]), created=False)


@bp.delete("/comments/<int:comment_id>")
@limiter.limit(_write_limit, key_func=client_ip)
def delete_comment(comment_id: int):
    _site_of(comment_id)
    comment = comment_service.delete_comment(comment_id, viewer())
    return jsonify({"comment": public_comment_of(comment)})


@bp.post("/comments/<int:comment_id>/votes")
@limiter.limit(_write_limit, key_func=client_ip)
def vote(comment_id: int):
    data = json_body(schemas.VOTE_SCHEMA)
    _site_of(comment_id)
    likes, value = reactions.vote(comment_id, viewer(), data["value"], request_ip_hash())
    return jsonify({"likes": likes, "value": value})


@bp.post("/comments/<int:comment_id>/reports")
@limiter.limit(_write_limit, key_func=client_ip)
def report(comment_id: int):
    data = json_body(schemas.REPORT_SCHEMA)
    _site_of(comment_id)
    entry = reactions.report(comment_id, viewer(), data["reason"], data["note"], request_ip_hash())
    return jsonify({"report": {"id": entry.id}}), 201


@bp.get("/challenge")
@limiter.limit(_write_limit, key_func=client_ip)
def challenge():
    """A proof-of-work challenge (ALTCHA) for posting on sites that ask for one."""
    response = jsonify(proof_of_work.new_challenge())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/preview")
@limiter.limit(_write_limit, key_func=client_ip)
def preview():
    data = json_body(schemas.PREVIEW_SCHEMA)
    return jsonify({"html": render_markdown(data["body"])})
