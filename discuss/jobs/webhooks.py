"""Signed webhooks: a site's endpoints, the events, their JSON (or Slack) bodies, and dispatch.

``announce(*comments)`` is the one hook: call it after the commit that changed a comment (post,
edit, delete, moderator action, rescoring, report). It reads the comment's latest audit row (or
takes it from a caller that just wrote it) to name the event, so every path agrees on what happened:

    create/approve/restore/rescore -> comment.published | comment.held | comment.rejected
    edit -> comment.edited    delete -> comment.deleted    report -> comment.reported

A row whose status did not change (feature, approving a reported comment) sends nothing. The
hook also counts the decision for /metrics. Delivery runs on the job runner
(discuss.jobs.webhook_delivery), never inside the request.
"""
from __future__ import annotations

import json
import secrets
import uuid
from typing import Any, Iterable
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select

from discuss import metrics
from discuss.errors import NotFound, ValidationFailed
from discuss.extensions import db
from discuss.locales import N_
from discuss.jobs import webhook_delivery as delivery
from discuss.jobs.mail import public_url
from discuss.jobs.runner import delivery_mode, enqueue, run_later
from discuss.models import (Comment, ModerationEvent, Report, Site, Webhook, WebhookDelivery, iso,
                            utcnow)
from discuss.models.links import permalink
from discuss.models.webhook import EVENTS, FORMATS, SLACK_DEFAULT_EVENTS, TEST_EVENT

STATUS_EVENTS = {"published": "comment.published", "pending": "comment.held", "rejected": "comment.rejected",
                 "deleted": "comment.deleted"}
ACTION_EVENTS = {"edit": "comment.edited", "delete": "comment.deleted", "report": "comment.reported"}
# In DISCUSS_SCORING=queue every comment waits for a worker first: that is not "held" for a person.
WAITING_FOR_WORKER = "scoring_queued"
MAX_WEBHOOKS_PER_SITE = 20


# -- managing endpoints -----------------------------------------------------------------------

def add_webhook(site: Site, url: str, events: Iterable[str] | None = None, fmt: str = "json") -> Webhook:
    """Validate and store a webhook with a new signing secret (show ``webhook.secret`` once)."""
    url = (url or "").strip()
    errors: dict[str, str] = {}
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2048:
        errors["url"] = N_("an http:// or https:// URL with a host name")
    if fmt not in FORMATS:
        errors["format"] = N_("one of: %(choices)s", choices=", ".join(FORMATS))
    chosen = [e.strip() for e in (events or []) if e.strip()]
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        errors["events"] = N_("unknown event(s) %(events)s; choose from: %(choices)s", events=", ".join(unknown),
                              choices=", ".join(EVENTS))
    if len(site_webhooks(site)) >= MAX_WEBHOOKS_PER_SITE:
        errors["url"] = N_("a site has at most %(num)s webhooks", num=MAX_WEBHOOKS_PER_SITE)
    if not errors:
        try:  # refuse at once what delivery would refuse anyway
            delivery.resolve_destination(url, bool(site.effective_settings()["webhooks_allow_private"]))
        except delivery.DeliveryRefused as exc:
            errors["url"] = exc.args[0] if exc.args else str(exc)  # a Text: the dashboard translates it
    if errors:
        raise ValidationFailed(errors)
    default = SLACK_DEFAULT_EVENTS if fmt == "slack" else EVENTS
    webhook = Webhook(site_id=site.id, url=url, secret="whsec_" + secrets.token_urlsafe(32),
                      events=[e for e in EVENTS if e in chosen] or list(default), format=fmt)
    db.session.add(webhook)
    db.session.commit()
    return webhook


def site_webhooks(site: Site) -> list[Webhook]:
    return list(db.session.scalars(select(Webhook).where(Webhook.site_id == site.id).order_by(Webhook.id)))


def site_webhook(site: Site, webhook_id: int) -> Webhook:
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None or webhook.site_id != site.id:
        raise NotFound(N_("webhook"))
    return webhook


def remove_webhook(site: Site, webhook_id: int) -> None:
    db.session.delete(site_webhook(site, webhook_id))
    db.session.commit()


def recent_deliveries(site: Site, limit: int = 50) -> list[WebhookDelivery]:
    return list(db.session.scalars(
        select(WebhookDelivery).join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(Webhook.site_id == site.id).order_by(WebhookDelivery.id.desc()).limit(limit)))


# -- events -----------------------------------------------------------------------------------

def announce(*comments: Comment | int, change: ModerationEvent | None = None) -> int:
    """Hook, after commit: send the event each comment's latest change means. Returns how many
    deliveries were dispatched. Never raises into the caller: the comment is already saved.

    ``change``: with one comment, its latest audit row when the caller has it in hand (posting
    just wrote it), so it is not read back."""
    if change is not None and len(comments) != 1:
        raise ValueError("change= goes with exactly one comment")
    dispatched = 0
    for item in comments:
        try:
            dispatched += _announce_one(item, change)
        except Exception:  # noqa: BLE001 - a webhook problem must never fail a comment
            from flask import current_app
            current_app.logger.exception("webhook announce failed for comment %s", item)
    return dispatched


def _announce_one(item: Comment | int, change: ModerationEvent | None = None) -> int:
    comment = db.session.get(Comment, item) if isinstance(item, int) else item
    if comment is None:
        return 0
    if change is None:
        change = db.session.scalar(select(ModerationEvent).where(ModerationEvent.comment_id == comment.id)
                                   .order_by(ModerationEvent.id.desc()).limit(1))
    event = _event_for(change)
    if event is None:
        return 0
    outcome = "edited" if event == "comment.edited" else (change.to_status or comment.status.value)
    if event != "comment.reported":
        metrics.count_comment(outcome, change.reasons)
    if event == "comment.held" and set(change.reasons or []) <= {WAITING_FOR_WORKER}:
        return 0
    hooks = [w for w in db.session.scalars(_ACTIVE_HOOKS, {"site_id": comment.thread.site_id})
             if event in (w.events or [])]
    for webhook in hooks:
        dispatch(webhook, event, comment_payload(event, comment, change))
    return len(hooks)


# Built once: every post asks (a prebuilt statement skips rebuilding it; issue 19).
_ACTIVE_HOOKS = select(Webhook).where(Webhook.site_id == bindparam("site_id"), Webhook.is_active.is_(True))


def _event_for(change: ModerationEvent | None) -> str | None:
    if change is None:
        return None
    if change.action in ACTION_EVENTS:
        return ACTION_EVENTS[change.action]
    if change.to_status is None or change.to_status == change.from_status:
        return None
    return STATUS_EVENTS.get(change.to_status)


def comment_payload(event: str, comment: Comment, change: ModerationEvent | None) -> dict[str, Any]:
    thread, site = comment.thread, comment.thread.site
    body: dict[str, Any] = {
        "event": event, "created_at": iso(utcnow()),
        "site": {"slug": site.slug, "name": site.name},
        "thread": {"article": thread.article_id, "title": thread.title, "url": thread.url, "closed": thread.is_closed},
        "comment": {"id": comment.id, "parent_id": comment.parent_id, "status": comment.status.value,
                    "author": {"id": comment.author_id, "name": comment.author_name},
                    "text": comment.body_text, "html": comment.body_html,
                    "created_at": iso(comment.created_at), "edited_at": iso(comment.edited_at),
                    "likes": comment.likes, "report_count": comment.report_count,
                    "permalink": permalink(thread.url, comment.id, site=site.slug, article=thread.article_id,
                                           base_url=public_url())},
        "reasons": list(comment.reasons or []), "scores": comment.scores or {},
        # Without DISCUSS_PUBLIC_URL there is no trustworthy base for a link: null, not "None/mod/…".
        "moderation_url": f"{public_url()}/mod/comments/{comment.id}" if public_url() else None,
    }
    if change is not None and change.action == "report":
        report = db.session.scalar(select(Report).where(Report.comment_id == comment.id)
                                   .order_by(Report.id.desc()).limit(1))
        if report is not None:
            body["report"] = {"reason": report.reason.value, "note": report.note}
    return body


def ping_payload(site: Site) -> dict[str, Any]:
    return {"event": TEST_EVENT, "created_at": iso(utcnow()), "site": {"slug": site.slug, "name": site.name},
            "message": "A test delivery from discuss: your endpoint is reachable and can check signatures."}


SLACK_TITLES = {"comment.held": "Comment held for review", "comment.reported": "Comment reported",
                "comment.published": "Comment published", "comment.rejected": "Comment rejected",
                "comment.edited": "Comment edited", "comment.deleted": "Comment deleted",
                TEST_EVENT: "Test message"}


def slack_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook body: one ``text`` in Slack's mrkdwn, with links to act on."""
    event = payload["event"]
    lines = [f"*{SLACK_TITLES.get(event, event)}* on {_slack_escape(payload['site']['name'])}"]
    comment = payload.get("comment")
    if comment:
        thread = payload["thread"]
        title = _slack_escape(thread.get("title") or thread["article"])
        link = f"<{comment['permalink']}|{title}>" if comment.get("permalink") else title
        lines[0] += f": {_slack_escape(comment['author']['name'] or '')} on {link}"
        if payload.get("reasons"):
            lines.append("Reasons: " + ", ".join(_slack_escape(r) for r in payload["reasons"]))
        if payload.get("report"):
            note = payload["report"].get("note")
            lines.append(f"Report: {payload['report']['reason']}" + (f" ({_slack_escape(note)})" if note else ""))
        text = " ".join((comment.get("text") or "").split())
        if text:
            lines.append("> " + _slack_escape(text[:300] + ("…" if len(text) > 300 else "")))
        if payload["moderation_url"]:
            lines.append(f"<{payload['moderation_url']}|Open in the moderation dashboard>")
    else:
        lines.append(_slack_escape(payload.get("message", "")))
    return {"text": "\n".join(lines)}


def _slack_escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- dispatch -----------------------------------------------------------------------------------

def encode(webhook: Webhook, payload: dict[str, Any], delivery_id: str) -> bytes:
    body = slack_payload(payload) if webhook.format == "slack" else {**payload, "delivery_id": delivery_id}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def dispatch(webhook: Webhook, event: str, payload: dict[str, Any]) -> str:
    """Hand one delivery to the job runner. Returns its delivery id (X-Discuss-Delivery)."""
    delivery_id = str(uuid.uuid4())
    args = (webhook.id, delivery_id, event, encode(webhook, payload, delivery_id))
    if delivery_mode() == "queue" and enqueue(delivery.deliver_queued, *args, timeout=60,
                                              retry_after=tuple(int(d) for d in delivery.retry_delays())):
        return delivery_id
    # No Redis (or it is down): a thread on this process makes every attempt, with backoff.
    run_later(delivery.deliver_with_backoff, *args)
    return delivery_id


def send_test(site: Site, webhook_id: int, *, now: bool = False) -> tuple[str, str | None]:
    """A webhook.test event: (delivery id, result). ``now`` makes one attempt here and returns its
    logged result (the CLI, which exits before a background thread would finish); otherwise it
    goes through the job runner like any event and the result is None."""
    webhook = site_webhook(site, webhook_id)
    if not now:
        return dispatch(webhook, TEST_EVENT, ping_payload(site)), None
    delivery_id = str(uuid.uuid4())
    body = encode(webhook, ping_payload(site), delivery_id)
    return delivery_id, delivery.attempt(webhook.id, delivery_id, TEST_EVENT, body, final=True)
