"""The OpenAPI 3.1 description of /api/v1 (public and moderation), served at /api/v1/openapi.json.

Request bodies of the public API are built from the same ``Field`` allowlists the views parse
with (``api/schemas.py``, ``api/readers.py``), so the description cannot drift from what is
accepted. Responses name their success shape; every error is the one error shape (``default``).
``.ci/run`` fuzzes the running service from this description with schemathesis.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, make_response, render_template

from discuss.identity.staff import MIN_PASSWORD_CHARS
from discuss.api import bp, readers, schemas
from discuss.api.openapi_moderation import moderation_paths
from discuss.locales import LANGUAGES
from discuss.models import ReportReason
from discuss.security import ID_MAX
from discuss.sanitize import EMAIL_PATTERN, VISIBLE_CHAR_PATTERN

JSON = "application/json"
ID = {"type": "integer", "minimum": 1, "maximum": ID_MAX}
COUNTS = {"type": "object", "required": ["counts"], "properties": {"counts": {"type": "object"}}}
SITE_PARAM = {"name": "site", "in": "query", "required": True,
              "schema": {"type": "string", "minLength": 1, "maxLength": 64},
              "example": "news"}
ARTICLE_PARAM = {"name": "article", "in": "query", "required": True,
                 "schema": {"type": "string", "minLength": 1, "maxLength": 512}, "example": "article-1"}
PATH_ID = {"name": "comment_id", "in": "path", "required": True, "schema": ID}
READER = [{"readerToken": []}]
# A new password's length, as identity.readers checks it (schemathesis found it undescribed).
NEW_PASSWORD = {"minLength": MIN_PASSWORD_CHARS}
# What a client can do next with the comment it just posted: the stateful phase of the fuzzer
# (.ci/fuzz_api) follows these to chain a post with its edit, delete, votes, reports and context.
COMMENT_LINKS = {name: {"operationRef": ref_, "parameters": {"comment_id": "$response.body#/comment/id"}}
                 for name, ref_ in (("EditComment", "#/paths/~1comments~1{comment_id}/patch"),
                                    ("DeleteComment", "#/paths/~1comments~1{comment_id}/delete"),
                                    ("VoteOnComment", "#/paths/~1comments~1{comment_id}~1votes/post"),
                                    ("ReportComment", "#/paths/~1comments~1{comment_id}~1reports/post"),
                                    ("CommentInContext", "#/paths/~1comments~1{comment_id}~1context/get"))}
MAYBE_READER = [{}, {"readerToken": []}]
EMAIL = {"pattern": EMAIL_PATTERN}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def field_schema(spec: schemas.Field) -> dict[str, Any]:
    """A ``schemas.Field`` as JSON Schema."""
    kinds = {str: "string", int: "integer", bool: "boolean", list: "array", dict: "object"}
    out: dict[str, Any] = {"type": [kinds[spec.kind], "null"] if spec.nullable else kinds[spec.kind]}
    if spec.kind is str:
        if spec.max_len is not None:
            out["maxLength"] = spec.max_len
        if spec.min_len:
            out["minLength"] = spec.min_len
            out["pattern"] = VISIBLE_CHAR_PATTERN
    if spec.kind is int:
        out.update(minimum=-ID_MAX - 1, maximum=ID_MAX)
    if spec.choices is not None:
        out["enum"] = list(spec.choices) + ([None] if spec.nullable else [])
    return out


def object_schema(fields: dict[str, schemas.Field], **overrides: Any) -> dict[str, Any]:
    properties = {name: field_schema(spec) for name, spec in fields.items()}
    for name, extra in overrides.items():
        properties[name] = {**properties.get(name, {}), **extra}
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": [name for name, spec in fields.items() if spec.required]}


def body(schema: dict[str, Any], example: dict[str, Any] | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"required": True, "content": {JSON: content}}


def answer(description: str, schema: dict[str, Any] | None = None, status: str = "200",
           extra: dict[str, Any] | None = None) -> dict[str, Any]:
    responses = {status: {"description": description,
                          "content": {JSON: {"schema": schema or {"type": "object"}}}},
                 "default": {"description": "An error, in the one error shape.", "content": {JSON: {"schema": ref("Error")}}}}
    responses.update(extra or {})
    return responses


def op(summary: str, responses: dict[str, Any], *, params: list | None = None, request: dict | None = None,
       security: list | None = None, tag: str = "comments") -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if params:
        operation["parameters"] = params
    if request:
        operation["requestBody"] = request
    operation["security"] = security if security is not None else MAYBE_READER
    return operation


def components() -> dict[str, Any]:
    comment = {"type": "object", "required": ["id", "status", "created_at", "replies"], "properties": {
        "id": ID, "parent_id": {"type": ["integer", "null"]}, "depth": {"type": "integer"},
        "status": {"enum": ["published", "pending", "rejected", "deleted"]},
        "author": {"type": ["object", "null"]}, "html": {"type": ["string", "null"]},
        "body_markdown": {"type": "string"}, "created_at": {"type": "string"},
        "edited_at": {"type": ["string", "null"]}, "likes": {"type": "integer"}, "featured": {"type": "boolean"},
        "replies": {"type": "array", "items": ref("Comment")}}}
    return {
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                               "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                               "comment_id": {"type": "integer", "description":
                                              "duplicate_comment: the comment already stored"}}}}},
            "Comment": comment,
            "PostAnswer": {"type": "object", "required": ["comment", "status", "viewer"], "properties": {
                "comment": ref("Comment"), "status": {"enum": ["published", "pending", "rejected"]},
                "viewer": {"type": "object"}, "author_token": {"type": "string"},
                "message": {"type": "string", "description": "held or rejected: what to tell the author, in the "
                            "first language of Accept-Language the service ships (else English)"},
                "reasons": {"type": "array", "items": {"type": "string"}}}},
            "Thread": {"type": "object", "required": ["comments"], "properties": {
                "comments": {"type": "array", "items": ref("Comment")},
                "next_cursor": {"type": ["string", "null"]}, "thread": {"type": ["object", "null"]},
                "settings": {"type": "object"}, "viewer": {"type": "object"}}},
            "SignedIn": {"type": "object", "required": ["token", "token_type", "expires_at", "viewer"], "properties": {
                "token": {"type": "string"}, "token_type": {"const": "Bearer"}, "expires_at": {"type": "string"},
                "viewer": ref("Viewer")}},
            "Viewer": {"type": "object", "required": ["id", "name", "kind"], "properties": {
                "id": ID, "name": {"type": "string"}, "kind": {"enum": ["guest", "account", "sso"]},
                "is_staff": {"type": "boolean"}}},
        },
        "securitySchemes": {
            "readerToken": {"type": "http", "scheme": "bearer",
                            "description": "A guest author token or a reader session token (drs_...)."},
            "siteToken": {"type": "http", "scheme": "bearer",
                          "description": "A site's moderation API token (dsk_...), from `flask discuss issue-api-token`."},
            "staffSession": {"type": "apiKey", "in": "cookie", "name": "session",
                             "description": "A staff sign-in; writes also need the X-CSRFToken header."},
        },
    }


def public_paths() -> dict[str, Any]:
    config = current_app.config
    create = object_schema(schemas.comment_create_schema(config["MAX_BODY_CHARS"], config["MAX_NAME_CHARS"]),
                           author_email={"pattern": "^$|" + EMAIL_PATTERN})
    html_or_json = {JSON: {"schema": {"type": "object"}}, "text/html": {"schema": {"type": "string"}}}
    link = {"name": "token", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 2048}}
    signed_in = answer("Signed in.", ref("SignedIn"))
    return {
        "/comments": {
            "get": op("A thread's published comments, nested, one page of top-level comments.", answer(
                "The thread.", ref("Thread"), extra={"304": {"description": "Not changed since the ETag sent "
                                                                     "(If-None-Match; anonymous reads)."}}), params=[
                SITE_PARAM, ARTICLE_PARAM,
                {"name": "sort", "in": "query", "schema": {"enum": ["oldest", "newest", "top"]}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                             "maximum": config["MAX_PAGE_LIMIT"]}},
                {"name": "cursor", "in": "query", "schema": {"type": "string", "maxLength": 512}}]),
            "post": op("Post a comment (201 published, 202 held, 200 rejected).", answer(
                "Rejected: not published.", ref("PostAnswer"), extra={
                    "201": {"description": "Published.", "content": {JSON: {"schema": ref("PostAnswer")}},
                            "links": COMMENT_LINKS},
                    "202": {"description": "Held for a moderator.", "content": {JSON: {"schema": ref("PostAnswer")}},
                            "links": COMMENT_LINKS}}),
                request=body(create, {"site": "news", "article": "article-1", "body": "A thoughtful comment.",
                                      "author_name": "Ann"})),
        },
        "/comments/{comment_id}": {
            "patch": op("Edit your own comment within the edit window.", answer("Edited.", ref("PostAnswer"), extra={
                "202": {"description": "Edited and held.", "content": {JSON: {"schema": ref("PostAnswer")}}}}),
                params=[PATH_ID], request=body(object_schema(schemas.comment_edit_schema(config["MAX_BODY_CHARS"]))),
                security=READER),
            "delete": op("Delete your own comment within the edit window.", answer("Deleted.", {
                "type": "object", "required": ["comment"], "properties": {"comment": ref("Comment")}}),
                params=[PATH_ID], security=READER),
        },
        "/comments/{comment_id}/votes": {"post": op(
            "Like (1) or un-like (0): one vote per reader, or per address without a token.", answer("The count.", {
                "type": "object", "required": ["likes", "value"],
                "properties": {"likes": {"type": "integer"}, "value": {"enum": [0, 1]}}}),
            params=[PATH_ID], request=body(object_schema(schemas.VOTE_SCHEMA)))},
        "/comments/{comment_id}/reports": {"post": op(
            "Report a comment to the moderators (once per reader).", answer("Recorded.", {
                "type": "object", "required": ["report"]}, status="201"),
            params=[PATH_ID], request=body(object_schema(
                schemas.REPORT_SCHEMA, reason={"enum": [r.value for r in ReportReason]})))},
        "/comments/{comment_id}/context": {"get": op(
            "A published comment, its ancestors and its place in the thread (permalinks).", answer(
                "The comment in context.", {"type": "object", "required": ["comment", "ancestors", "place"]}),
            params=[PATH_ID, {"name": "sort", "in": "query", "schema": {"enum": ["oldest", "newest", "top"]}}],
            security=[{}])},
        "/live": {"get": op("Has the thread changed? Poll with If-None-Match: 304 when it has not.", answer(
            "The thread's revision and newest comments.", {"type": "object", "required": ["revision", "last_id"]},
            extra={"304": {"description": "Not changed since the ETag sent."}}),
            params=[SITE_PARAM, ARTICLE_PARAM], security=[{}])},
        "/live/new": {"get": op("Published comments newer than a comment id, oldest first.", answer(
            "The comments.", {"type": "object", "required": ["comments"]}), params=[
            SITE_PARAM, ARTICLE_PARAM,
            {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": ID_MAX}}],
            security=[{}])},
        "/challenge": {"get": op("A proof-of-work challenge (ALTCHA) for sites whose proof_of_work setting asks "
                                 "for one; solve it and send the payload as `altcha` with the post.", answer(
            "The challenge.", {"type": "object", "required": ["parameters", "signature"]}), security=[{}])},
        "/preview": {"post": op("Render Markdown as the service would.", answer("HTML.", {
            "type": "object", "required": ["html"], "properties": {"html": {"type": "string"}}}),
            request=body(object_schema(schemas.PREVIEW_SCHEMA)), security=[{}])},
        "/counts": {"get": op("Published comment counts for many articles, cacheable (ETag, Cache-Control).",
                              answer("Counts by article.", COUNTS, extra={"304": {"description": "Not changed."}}),
                              params=[SITE_PARAM, {"name": "article", "in": "query", "required": True, "style": "form",
                                                   "explode": True, "schema": {
                                                       "type": "array", "minItems": 1,
                                                       "maxItems": config["MAX_COUNT_ARTICLES"],
                                                       "items": {"type": "string", "minLength": 1, "maxLength": 512}}}],
                              security=[{}]),
                    "post": op("Published comment counts for many articles.", answer("Counts by article.", COUNTS),
            request=body(object_schema(schemas.COUNTS_SCHEMA, articles={
                "type": "array", "minItems": 1, "maxItems": config["MAX_COUNT_ARTICLES"],
                "items": {"type": "string", "minLength": 1, "maxLength": 512}})), security=[{}])},
        "/auth/register": {"post": op(
            "Sign up for a comment account. The same 202 for every address: a new one gets a link that creates "
            "the account; one with an account already gets an email saying someone tried.", answer(
                "Check your email.", {"type": "object", "required": ["status", "message"],
                                      "properties": {"status": {"const": "check_email"}}}, status="202"),
            request=body(object_schema(readers.REGISTER_SCHEMA, email=EMAIL,
                                       password=NEW_PASSWORD, language={"enum": [*LANGUAGES, None]})),
            security=[{}], tag="readers")},
        "/auth/register/confirm": {
            "get": op("Open the sign-up link from the email: creates the account.", {
                "200": {"description": "Account created.", "content": html_or_json},
                "default": {"description": "Not valid.", "content": html_or_json}},
                params=[link], security=[{}], tag="readers"),
            "post": op("Create the account from the sign-up link's token.", answer(
                "Account created.", {"type": "object", "required": ["confirmed", "viewer"]}),
                request=body(object_schema(readers.TOKEN_SCHEMA)), security=[{}], tag="readers")},
        "/auth/login": {"post": op("Sign in with email and password.", signed_in,
                                   request=body(object_schema(readers.LOGIN_SCHEMA)), security=[{}], tag="readers")},
        "/auth/logout": {"post": op("Sign out everywhere: every session and token of the reader ends.", answer(
            "Signed out.", {"type": "object", "required": ["signed_out"]}), security=MAYBE_READER, tag="readers")},
        "/auth/sso": {"post": op("Sign in with the publisher's signed token (HS256 JWT).", signed_in,
                                 request=body(object_schema(readers.SSO_SCHEMA)), security=[{}], tag="readers")},
        "/auth/password/forgot": {"post": op("Email a password-reset link (202 whether or not the address has "
                                             "an account).", answer("Accepted.", {"type": "object"}, status="202"),
                                             request=body(object_schema(readers.FORGOT_SCHEMA, email=EMAIL)),
                                             security=[{}],
                                             tag="readers")},
        "/auth/password/reset": {"post": op("Set a new password from a reset link; signs out everywhere.", answer(
            "Reset.", {"type": "object", "required": ["reset"]}), request=body(object_schema(readers.RESET_SCHEMA,
                                                                                     password=NEW_PASSWORD)),
            security=[{}], tag="readers")},
        "/auth/verify/resend": {"post": op("Send the email verification link again (rate-limited).", answer(
            "Queued.", {"type": "object", "required": ["sent"]}, status="202"), security=READER, tag="readers")},
        "/auth/verify": {
            "get": op("Open an email verification link.", {"200": {"description": "Verified.", "content": html_or_json},
                                                           "default": {"description": "Not valid.", "content": html_or_json}},
                      params=[link], security=[{}], tag="readers"),
            "post": op("Confirm an email address.", answer("Verified.", {"type": "object", "required": ["verified"]}),
                       request=body(object_schema(readers.TOKEN_SCHEMA)), security=[{}], tag="readers")},
        "/unsubscribe": {
            method: op("Unsubscribe from a mailing (link in emails; POST is RFC 8058 one-click).", {
                "200": {"description": "Unsubscribed.", "content": html_or_json},
                "default": {"description": "Not valid.", "content": html_or_json}},
                params=[link], security=[{}], tag="readers") for method in ("get", "post")},
        "/me": {
            "get": op("The signed-in reader.", answer("Profile.", {"type": "object", "required": ["viewer"]}),
                      security=READER, tag="readers"),
            "patch": op("Change name or notification choices.", answer("Profile.", {
                "type": "object", "required": ["viewer"]}), request=body(object_schema(readers.PROFILE_SCHEMA)),
                security=READER, tag="readers"),
            "delete": op("Delete the account (comments by the site's policy).", answer("Deleted."),
                         security=READER, tag="readers")},
        "/me/password": {"post": op("Change the password; other sessions end.", answer("Changed.", {
            "type": "object", "required": ["changed"]}), request=body(object_schema(readers.PASSWORD_SCHEMA)),
            security=READER, tag="readers")},
        "/me/export": {"get": op("Download everything stored about the reader.", answer("The data."),
                                 security=READER, tag="readers")},
        "/openapi.json": {"get": op("This description.", answer("OpenAPI 3.1."), security=[{}], tag="meta")},
    }


def build_spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "discuss API", "version": "1",
                 "description": "The public comment API and the moderation API of discuss. Every error is "
                                "`{\"error\": {\"code\", \"message\", \"fields\"?}}`."},
        "servers": [{"url": "/api/v1"}],
        "paths": {**public_paths(), **moderation_paths(op, answer, body, ref, ID)},
        "components": components(),
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(build_spec())


# -- the reference page ------------------------------------------------------------------------

docs_bp = Blueprint("api_docs", __name__)
# Swagger UI sets some styles inline and draws icons from data: URLs; scripts stay 'self' only.
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@docs_bp.get("/api/docs")
def api_docs():
    response = make_response(render_template("api_docs.html"))
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response
