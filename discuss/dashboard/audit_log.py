"""Browsing the moderation audit trail, scoped to the sites an actor moderates."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from discuss.errors import ValidationFailed
from discuss.extensions import db
from discuss.models import ModerationEvent, Site
from discuss.services.staff import Actor

PER_PAGE = 50


@dataclass(frozen=True)
class AuditFilters:
    site_id: int | None = None
    action: str | None = None
    actor: str | None = None
    comment_id: int | None = None
    page: int = 1


def parse_audit_filters(args: Mapping[str, Any], sites_by_slug: dict[str, Site]) -> AuditFilters:
    errors: dict[str, str] = {}
    slug = (args.get("site") or "").strip()
    if slug and slug not in sites_by_slug:
        errors["site"] = "no such site among the ones you moderate"
    numbers = {}
    for name in ("comment", "page"):
        raw = args.get(name)
        try:
            numbers[name] = int(raw) if raw not in (None, "") else None
        except ValueError:
            errors[name] = "a number"
    if errors:
        raise ValidationFailed(errors)
    return AuditFilters(site_id=sites_by_slug[slug].id if slug else None,
                        action=(args.get("action") or "").strip() or None,
                        actor=(args.get("actor") or "").strip() or None,
                        comment_id=numbers.get("comment"), page=max(1, numbers.get("page") or 1))


def load_events(actor: Actor, filters: AuditFilters) -> tuple[list[ModerationEvent], int]:
    query = select(ModerationEvent)
    if filters.site_id is not None:
        query = query.where(ModerationEvent.site_id == filters.site_id)
    elif actor.site_ids is not None:
        query = query.where(ModerationEvent.site_id.in_(actor.site_ids or [-1]))
    if filters.action:
        query = query.where(ModerationEvent.action == filters.action)
    if filters.actor:
        query = query.where(or_(ModerationEvent.actor_label == filters.actor,
                                ModerationEvent.actor_label.like(filters.actor + ":%")))
    if filters.comment_id:
        query = query.where(ModerationEvent.comment_id == filters.comment_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = (query.options(selectinload(ModerationEvent.actor))
            .order_by(ModerationEvent.created_at.desc(), ModerationEvent.id.desc())
            .limit(PER_PAGE).offset((filters.page - 1) * PER_PAGE))
    return list(db.session.scalars(page)), int(total)


def known_actions(actor: Actor) -> list[str]:
    query = select(ModerationEvent.action).distinct().order_by(ModerationEvent.action)
    if actor.site_ids is not None:
        query = query.where(ModerationEvent.site_id.in_(actor.site_ids or [-1]))
    return list(db.session.scalars(query))
