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


@discuss_cli.command("rescore")
@click.option("--wait", default=600, show_default=True, help="Seconds to wait for the model to load.")
def rescore(wait: int) -> None:
    """Score comments held because the model was unavailable, and route them by the rules."""
    from discuss.scoring.runtime import get_scoring
    from discuss.services.rescoring import rescore_pending

    scoring = get_scoring()
    scoring.start()
    if not scoring.wait_ready(wait):
        raise click.ClickException(f"the model is not ready ({scoring.status().get('state')}: "
                                   f"{scoring.status().get('error') or 'still loading'})")
    click.echo(" ".join(f"{k}={v}" for k, v in rescore_pending().items()))


@discuss_cli.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty (for tests and cron).")
def worker(burst: bool) -> None:
    """Run a scoring worker (DISCUSS_SCORING=queue): loads the model, then scores queued comments."""
    from discuss.scoring.runtime import get_scoring
    from discuss.services.rescoring import rescore_pending
    from discuss.services.scoring_queue import run_worker

    scoring = get_scoring()
    scoring.load_now()
    if not scoring.wait_ready(0):
        raise click.ClickException(f"the model could not be loaded: {scoring.status().get('error')}")
    click.echo(f"model ready: {scoring.description}; catching up on held comments")
    click.echo(" ".join(f"{k}={v}" for k, v in rescore_pending().items()))
    run_worker(burst=burst)


@discuss_cli.command("init-demo")
@click.option("--origin", "origins", multiple=True,
              default=("http://127.0.0.1:8080", "http://localhost:8080"), show_default=True)
def init_demo(origins: tuple[str, ...]) -> None:
    """Create the database schema (migrations) and the 'demo' site used by /demo."""
    from flask_migrate import upgrade

    upgrade()
    if site_service.get_site_by_slug("demo") is None:
        site_service.create_site("demo", "The Daily Demo", list(origins))
    click.echo("demo site ready: open http://127.0.0.1:8080/demo")


def _register_subcommands() -> None:
    from discuss.scoring.cli import model_cli

    discuss_cli.add_command(model_cli)


_register_subcommands()
