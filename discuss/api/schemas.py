"""Input allowlists for the public API: every field named, typed and bounded; nothing else accepted."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from discuss.errors import ApiError, ValidationFailed
from discuss.models import ReportReason
from discuss.sanitize import EMAIL_PATTERN, VISIBLE_CHAR_PATTERN
from discuss.security import ID_MAX

EMAIL_RE = re.compile(EMAIL_PATTERN)
# A required text field holds at least one character the service keeps; the API description states the
# same pattern (api/openapi.field_schema), so the two cannot disagree about what "empty" is.
_VISIBLE = re.compile(VISIBLE_CHAR_PATTERN)


@dataclass(frozen=True)
class Field:
    kind: type
    required: bool = False
    max_len: int | None = None
    min_len: int = 0
    choices: tuple[Any, ...] | None = None
    nullable: bool = False


def _check(name: str, spec: Field, value: Any) -> str | None:
    if value is None:
        return None if spec.nullable or not spec.required else "is required"
    # bool is an int in Python; never accept true for a number or 1 for a flag.
    if spec.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        return "must be an integer"
    if spec.kind is int and not -ID_MAX - 1 <= value <= ID_MAX:
        return "is out of range"
    if spec.kind is not int and not isinstance(value, spec.kind):
        return f"must be a {spec.kind.__name__.replace('str', 'string').replace('bool', 'boolean')}"
    if spec.choices is not None and value not in spec.choices:
        return "must be one of: " + ", ".join(str(c) for c in spec.choices)
    if isinstance(value, str):
        if spec.max_len is not None and len(value) > spec.max_len:
            return f"must be at most {spec.max_len} characters"
        if spec.min_len and (len(value.strip()) < spec.min_len or not _VISIBLE.search(value)):
            return "must not be empty" if spec.min_len == 1 else f"must be at least {spec.min_len} characters"
    return None


def parse(payload: Any, schema: dict[str, Field]) -> dict[str, Any]:
    """Validate a decoded JSON object against a schema; raise one error naming every bad field."""
    if not isinstance(payload, dict):
        raise ApiError("invalid_json", "The request body must be a JSON object.", 400)
    fields: dict[str, str] = {}
    for name in payload:
        if name not in schema:
            fields[name] = "unknown field"
    for name, spec in schema.items():
        if name not in payload:
            if spec.required:
                fields[name] = "is required"
            continue
        problem = _check(name, spec, payload[name])
        if problem:
            fields[name] = problem
    if fields:
        raise ValidationFailed(fields)
    return {name: payload.get(name) for name in schema}


def check_http_url(value: str | None, field: str) -> None:
    if value in (None, ""):
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationFailed({field: "must be an http(s) URL"})


def check_email(value: str | None, field: str = "author_email") -> None:
    if value not in (None, "") and not EMAIL_RE.match(value):
        raise ValidationFailed({field: "must be an email address"})


def comment_create_schema(max_body: int, max_name: int) -> dict[str, Field]:
    return {
        "site": Field(str, required=True, max_len=64, min_len=1),
        "article": Field(str, required=True, max_len=512, min_len=1),
        "article_url": Field(str, max_len=2048, nullable=True),
        "article_title": Field(str, max_len=512, nullable=True),
        "parent_id": Field(int, nullable=True),
        # Length is checked again after trimming and normalizing, in the service.
        "body": Field(str, required=True, max_len=max_body * 2, min_len=1),
        "author_name": Field(str, max_len=max_name * 2, nullable=True),
        "author_email": Field(str, max_len=254, nullable=True),
        "website": Field(str, max_len=2048, nullable=True),  # honeypot: humans never see it
        "acknowledge_warning": Field(bool, nullable=True),
        "warning_token": Field(str, max_len=1024, nullable=True),
        "altcha": Field(str, max_len=4096, nullable=True),  # proof of work, when the site asks for it
    }


def comment_edit_schema(max_body: int) -> dict[str, Field]:
    return {"body": Field(str, required=True, max_len=max_body * 2, min_len=1)}


REPORT_SCHEMA = {
    "reason": Field(str, required=True, choices=tuple(r.value for r in ReportReason)),
    "note": Field(str, max_len=1000, nullable=True),
}
VOTE_SCHEMA = {"value": Field(int, required=True, choices=(0, 1))}
COUNTS_SCHEMA = {"site": Field(str, required=True, max_len=64, min_len=1), "articles": Field(list, required=True)}
PREVIEW_SCHEMA = {"body": Field(str, required=True, max_len=20_000)}
