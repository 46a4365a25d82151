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
    """Create or upgrade the database schema (migrations) and the 'demo' site used by /demo."""
    from flask_migrate import upgrade

    from discuss.embed.demo import ensure_demo_site

    upgrade()
    site = ensure_demo_site(list(origins))
    click.echo("demo site ready: open http://127.0.0.1:8080/demo")
    _ensure_demo_admin(site.id)


DEMO_ADMIN = "admin@demo.local"


def _ensure_demo_admin(site_id: int) -> None:
    """A first admin, so a newcomer can open the moderator dashboard right away."""
    import secrets

    from discuss.services.staff import create_staff, find_staff_by_email

    if find_staff_by_email(DEMO_ADMIN) is not None:
        click.echo(f"moderator dashboard: http://127.0.0.1:8080/mod (admin {DEMO_ADMIN} exists already)")
        return
    password = secrets.token_urlsafe(12)
    create_staff(DEMO_ADMIN, password, admin=True, site_ids=[site_id], display_name="Demo admin")
    click.echo(f"moderator dashboard: http://127.0.0.1:8080/mod  sign in as {DEMO_ADMIN} / {password}")


def _register_subcommands() -> None:
    from discuss.dashboard.cli import register_cli as register_staff_cli
    from discuss.identity_cli import register_cli as register_identity_cli
    from discuss.scoring.cli import model_cli

    discuss_cli.add_command(model_cli)
    register_staff_cli(discuss_cli)
    register_identity_cli(discuss_cli)


_register_subcommands()
