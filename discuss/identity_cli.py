"""`flask discuss sso-secret | purge-ips | send-digest | digest` (reader identity, privacy, mail).

Registered on the `flask discuss` group by ``register_cli(group)``.
"""
from __future__ import annotations

import click

from discuss.errors import ApiError
from discuss.services import sites as site_service


@click.command("sso-secret")
@click.argument("slug")
@click.option("--rotate", is_flag=True,
              help="Replace the current secret (tokens signed with the old one stop working).")
def sso_secret(slug: str, rotate: bool) -> None:
    """Create a site's SSO signing secret (HS256), or rotate it. Shown once."""
    from discuss.services.sso import set_sso_secret

    site = site_service.get_site_by_slug(slug)
    if site is None:
        raise click.BadParameter(f"no site '{slug}'", param_hint="SLUG")
    try:
        secret = set_sso_secret(site, rotate=rotate)
    except ApiError as err:
        raise click.ClickException(f"{err.message} Run again with --rotate.") from None
    click.echo(f"SSO secret for '{slug}' (put it in your site's backend now; it is not shown again):\n{secret}")


@click.command("purge-ips")
@click.option("--days", type=int, default=None, help="Retention in days (default: IP_RETENTION_DAYS).")
def purge_ips(days: int | None) -> None:
    """Drop IP hashes of comments and reports older than the retention period (run daily from cron)."""
    from discuss.services.privacy import purge_ip_hashes

    counts = purge_ip_hashes(days)
    click.echo(f"cleared IP hashes: comments={counts['comments']} reports={counts['reports']}")


@click.command("send-digest")
def send_digest() -> None:
    """Email each opted-in moderator a digest of their pending queue (run from cron)."""
    from discuss.services.notifications import send_digests

    counts = send_digests()
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
    if counts["failed"]:
        raise SystemExit(1)


@click.command("digest")
@click.argument("email")
@click.option("--off", is_flag=True, help="Unsubscribe instead.")
def digest(email: str, off: bool) -> None:
    """Subscribe a staff account to the pending-queue digest (or --off)."""
    from discuss.extensions import db
    from discuss.services.staff import find_staff_by_email

    user = find_staff_by_email(email)
    if user is None:
        raise click.BadParameter(f"no staff account '{email}'", param_hint="EMAIL")
    user.notify_digest = not off
    db.session.commit()
    click.echo(f"{user.email}: digest {'off' if off else 'on'}")


identity_commands = [sso_secret, purge_ips, send_digest, digest]


def register_cli(group: click.Group) -> None:
    for command in identity_commands:
        group.add_command(command)
