"""`flask discuss webhook add|list|remove|test`: a site's signed webhooks."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from discuss.cli.group import discuss_cli, site_or_fail
from discuss.errors import ApiError
from discuss.jobs import webhooks as webhook_service
from discuss.models.webhook import EVENTS, FORMATS


webhook_cli = AppGroup("webhook", help="Signed webhooks: add, list, remove, test.")
discuss_cli.add_command(webhook_cli)


@webhook_cli.command("add")
@click.argument("slug")
@click.argument("url")
@click.option("--events", "events", default="", metavar="EVENT,...",
              help=f"Comma-separated, from: {', '.join(EVENTS)}. Default: all (slack: held and reported).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True,
              help="json (signed event body) or slack (a text message for an incoming-webhook URL).")
def webhook_add(slug: str, url: str, events: str, fmt: str) -> None:
    """Send a site's comment events to URL. Prints the signing secret once."""
    try:
        hook = webhook_service.add_webhook(site_or_fail(slug), url, events.split(","), fmt)
    except ApiError as err:
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in (err.fields or {}).items()) or err.message)
    click.echo(f"webhook {hook.id} for '{slug}' -> {hook.url} ({hook.format}: {', '.join(hook.events)})")
    click.echo(f"signing secret (store it now; it is not shown again):\n{hook.secret}")


@webhook_cli.command("list")
@click.argument("slug")
def webhook_list(slug: str) -> None:
    for hook in webhook_service.site_webhooks(site_or_fail(slug)):
        click.echo(f"{hook.id}\t{hook.format}\t{hook.url}\t{','.join(hook.events)}")


@webhook_cli.command("remove")
@click.argument("slug")
@click.argument("webhook_id", type=int)
def webhook_remove(slug: str, webhook_id: int) -> None:
    try:
        webhook_service.remove_webhook(site_or_fail(slug), webhook_id)
    except ApiError as err:
        raise click.ClickException(err.message) from None
    click.echo(f"removed webhook {webhook_id}")


@webhook_cli.command("test")
@click.argument("slug")
@click.argument("webhook_id", type=int)
def webhook_test(slug: str, webhook_id: int) -> None:
    """Send a webhook.test event now, once, and print the result (also in the delivery log)."""
    try:
        delivery_id, result = webhook_service.send_test(site_or_fail(slug), webhook_id, now=True)
    except ApiError as err:
        raise click.ClickException(err.message) from None
    click.echo(f"test delivery {delivery_id}: {result}")
    if result != "delivered":
        raise SystemExit(1)
