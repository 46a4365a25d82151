"""Core commands: sites, the demo, staff and tokens, privacy and mail, scoring and the worker."""
from __future__ import annotations

import secrets

import click
from flask import current_app
from flask_migrate import upgrade

from discuss.cli.group import discuss_cli, ready_scoring, site_or_fail
from discuss.comments.privacy import purge_ip_hashes
from discuss.embed.demo import ensure_demo_site
from discuss.errors import ApiError
from discuss.identity import staff as staff_service
from discuss.identity.sso import set_sso_secret
from discuss.jobs.notifications import send_digests
from discuss.jobs.runner import run_worker
from discuss.moderation import sites as site_service
from discuss.moderation.rescoring import rescore_pending
from discuss.moderation.sweeper import start_sweeper
from discuss.scoring.runtime import get_scoring

DEMO_ADMIN = "admin@demo.local"


# -- sites ---------------------------------------------------------------------------------------

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


@discuss_cli.command("init-demo")
@click.option("--origin", "origins", multiple=True,
              default=("http://127.0.0.1:8080", "http://localhost:8080"), show_default=True)
def init_demo(origins: tuple[str, ...]) -> None:
    """Create or upgrade the database schema (migrations) and the 'demo' site used by /demo."""
    upgrade()
    site = ensure_demo_site(list(origins))
    click.echo("demo site ready: open http://127.0.0.1:8080/demo")
    if staff_service.find_staff_by_email(DEMO_ADMIN) is not None:
        click.echo(f"moderator dashboard: http://127.0.0.1:8080/mod (admin {DEMO_ADMIN} exists already)")
        return
    # A first admin, so a newcomer can open the moderator dashboard right away.
    password = secrets.token_urlsafe(12)
    staff_service.create_staff(DEMO_ADMIN, password, admin=True, site_ids=[site.id], display_name="Demo admin")
    click.echo(f"moderator dashboard: http://127.0.0.1:8080/mod  sign in as {DEMO_ADMIN} / {password}")


# -- staff and tokens ----------------------------------------------------------------------------

@discuss_cli.command("create-moderator")
@click.argument("email")
@click.option("--site", "site_slugs", multiple=True, help="Site slug this moderator works on (repeatable).")
@click.option("--admin", is_flag=True, help="Admin: every site, settings and API tokens.")
@click.option("--name", default=None, help="Name shown in the audit log (defaults to the email's user part).")
@click.password_option(prompt="Password (at least 10 characters)", envvar="DISCUSS_STAFF_PASSWORD")
def create_moderator(email: str, site_slugs: tuple[str, ...], admin: bool, name: str | None, password: str) -> None:
    """Create a staff account (or add sites to an existing one)."""
    if not site_slugs and not admin:
        raise click.UsageError("Give --site SLUG (repeatable) or --admin.")
    sites = [site_or_fail(slug, "--site") for slug in site_slugs]
    try:
        user = staff_service.create_staff(email, password, admin=admin, site_ids=[s.id for s in sites],
                                          display_name=name)
    except ApiError as err:
        raise click.ClickException(f"{err.message} {err.fields or ''}".strip()) from None
    scope = "all sites (admin)" if admin else ", ".join(s.slug for s in sites)
    click.echo(f"Staff account {user.email} (id {user.id}) moderates {scope}.")


@discuss_cli.command("issue-api-token")
@click.argument("slug")
def issue_api_token(slug: str) -> None:
    """Issue a new moderation API token for a site (replaces the old one). Shown once."""
    token = staff_service.issue_api_token(site_or_fail(slug))
    click.echo(f"API token for '{slug}' (store it now; it is not shown again):\n{token}")


@discuss_cli.command("sso-secret")
@click.argument("slug")
@click.option("--rotate", is_flag=True,
              help="Replace the current secret (tokens signed with the old one stop working).")
def sso_secret(slug: str, rotate: bool) -> None:
    """Create a site's SSO signing secret (HS256), or rotate it. Shown once."""
    site = site_or_fail(slug)
    try:
        secret = set_sso_secret(site, rotate=rotate)
    except ApiError as err:
        raise click.ClickException(f"{err.message} Run again with --rotate.") from None
    click.echo(f"SSO secret for '{slug}' (put it in your site's backend now; it is not shown again):\n{secret}")


# -- privacy and mail ----------------------------------------------------------------------------

@discuss_cli.command("purge-ips")
@click.option("--days", type=int, default=None, help="Retention in days (default: IP_RETENTION_DAYS).")
def purge_ips(days: int | None) -> None:
    """Drop IP hashes of comments and reports older than the retention period (run daily from cron)."""
    counts = purge_ip_hashes(days)
    click.echo(f"cleared IP hashes: comments={counts['comments']} reports={counts['reports']}")


@discuss_cli.command("send-digest")
def send_digest() -> None:
    """Email each opted-in moderator a digest of their pending queue (run from cron)."""
    counts = send_digests()
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
    if counts["failed"]:
        raise SystemExit(1)


@discuss_cli.command("digest")
@click.argument("email")
@click.option("--off", is_flag=True, help="Unsubscribe instead.")
def digest(email: str, off: bool) -> None:
    """Subscribe a staff account to the pending-queue digest (or --off)."""
    user = staff_service.set_digest(email, on=not off)
    if user is None:
        raise click.BadParameter(f"no staff account '{email}'", param_hint="EMAIL")
    click.echo(f"{user.email}: digest {'off' if off else 'on'}")


# -- scoring and jobs ----------------------------------------------------------------------------

@discuss_cli.command("rescore")
@click.option("--wait", default=600, show_default=True, help="Seconds to wait for the model to load.")
def rescore(wait: int) -> None:
    """Score comments held because the model was unavailable, and route them by the rules."""
    ready_scoring(wait)
    click.echo(" ".join(f"{k}={v}" for k, v in rescore_pending().items()))


@discuss_cli.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty (for tests and cron).")
def worker(burst: bool) -> None:
    """Run a job worker (scoring in DISCUSS_SCORING=queue, and mail): loads the model, catches up
    on held comments, then runs queued jobs."""
    scoring = get_scoring()
    scoring.start(wait=True)
    if not scoring.wait_ready(0):
        raise click.ClickException(f"the model could not be loaded: {scoring.status().get('error')}")
    click.echo(f"model ready: {scoring.description}; catching up on held comments")
    click.echo(" ".join(f"{k}={v}" for k, v in rescore_pending().items()))
    # The sweeper publishes this worker's scorer state for /healthz and routes whatever was left
    # waiting (Redis outages, killed workers, exhausted retries) while the worker runs.
    sweeper = None if burst else start_sweeper(current_app._get_current_object(), publish_state=True)
    try:
        run_worker(burst=burst)
    finally:
        if sweeper is not None:
            sweeper.stop()
