"""`flask discuss create-moderator` and `flask discuss issue-api-token` (registered in discuss/cli.py)."""
from __future__ import annotations

import click

from discuss.errors import ApiError
from discuss.services import sites as site_service
from discuss.services import staff as staff_service


@click.command("create-moderator")
@click.argument("email")
@click.option("--site", "site_slugs", multiple=True, help="Site slug this moderator works on (repeatable).")
@click.option("--admin", is_flag=True, help="Admin: every site, settings and API tokens.")
@click.option("--name", default=None, help="Name shown in the audit log (defaults to the email's user part).")
@click.password_option(prompt="Password (at least 10 characters)", envvar="DISCUSS_STAFF_PASSWORD")
def create_moderator(email: str, site_slugs: tuple[str, ...], admin: bool, name: str | None, password: str) -> None:
    """Create a staff account (or add sites to an existing one)."""
    if not site_slugs and not admin:
        raise click.UsageError("Give --site SLUG (repeatable) or --admin.")
    sites = []
    for slug in site_slugs:
        site = site_service.get_site_by_slug(slug)
        if site is None:
            raise click.BadParameter(f"no site '{slug}'", param_hint="--site")
        sites.append(site)
    try:
        user = staff_service.create_staff(email, password, admin=admin, site_ids=[s.id for s in sites],
                                          display_name=name)
    except ApiError as err:
        raise click.ClickException(f"{err.message} {err.fields or ''}".strip()) from None
    scope = "all sites (admin)" if admin else ", ".join(s.slug for s in sites)
    click.echo(f"Staff account {user.email} (id {user.id}) moderates {scope}.")


@click.command("issue-api-token")
@click.argument("slug")
def issue_api_token(slug: str) -> None:
    """Issue a new moderation API token for a site (replaces the old one). Shown once."""
    site = site_service.get_site_by_slug(slug)
    if site is None:
        raise click.BadParameter(f"no site '{slug}'", param_hint="SLUG")
    token = staff_service.issue_api_token(site)
    click.echo(f"API token for '{slug}' (store it now; it is not shown again):\n{token}")


staff_commands = [create_moderator, issue_api_token]


def register_cli(group: click.Group) -> None:
    for command in staff_commands:
        group.add_command(command)
