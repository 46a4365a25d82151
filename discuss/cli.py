"""`flask discuss ...` commands for publishers and operators."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from discuss.services import sites as site_service

discuss_cli = AppGroup("discuss", help="Manage discuss: sites, staff, scoring.")


@discuss_cli.command("create-site")
@click.argument("slug")
@click.option("--origin", "origins", multiple=True, required=True,
              help="Origin allowed to embed the thread, e.g. https://news.example.com (repeatable).")
@click.option("--name", default=None, help="Display name (defaults to the slug).")
def create_site(slug: str, origins: tuple[str, ...], name: str | None) -> None:
    """Create a site that may embed comment threads."""
    site = site_service.create_site(slug, name or slug, list(origins))
    click.echo(f"Created site '{site.slug}' allowing {', '.join(site.allowed_origins)}")


@discuss_cli.command("list-sites")
def list_sites() -> None:
    for site in site_service.all_sites():
        click.echo(f"{site.slug}\t{site.name}\t{' '.join(site.allowed_origins)}")
