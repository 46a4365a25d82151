"""The webhooks panel of a site's settings page: the list, the add form and the delivery log.
The routes (add, remove, send test) are in admin_views with the rest of the settings page."""
from __future__ import annotations

from discuss.jobs import webhooks as webhook_service
from discuss.models.webhook import EVENTS, FORMATS, SLACK_DEFAULT_EVENTS

DELIVERY_LOG_ROWS = 30


def webhook_context(site, new_webhook=None, webhook_errors=None) -> dict:
    return {"webhooks": webhook_service.site_webhooks(site),
            "deliveries": webhook_service.recent_deliveries(site, DELIVERY_LOG_ROWS),
            "webhook_events": EVENTS, "webhook_formats": FORMATS, "slack_events": SLACK_DEFAULT_EVENTS,
            "new_webhook": new_webhook, "webhook_errors": webhook_errors or {}}
