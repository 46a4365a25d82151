"""The one `flask discuss` group and the helpers its commands share."""
from __future__ import annotations

import time

import click
from flask.cli import AppGroup, with_appcontext

from discuss.jobs.mail import mail_status

from discuss.models import Site
from discuss.models.queries import site_by_slug
from discuss.scoring import ScorerState
from discuss.cli.model import model_cli
from discuss.scoring.runtime import get_scoring

discuss_cli = AppGroup("discuss", help="Manage discuss: sites, staff, scoring, imports, webhooks.")
discuss_cli.add_command(model_cli)


@with_appcontext
def _say_whether_mail_goes_out() -> None:
    """`model check` is the operator's look at the running configuration: besides the model it says
    whether email can go out, and why not (the same reason as /healthz and the start-up log)."""
    status = mail_status()
    click.echo(f"mail:           {status['state']}" + (f": {status['reason']}" if status.get("reason") else ""))


model_cli.callback = _say_whether_mail_goes_out  # runs before every `model` subcommand


def site_or_fail(slug: str, param_hint: str = "SLUG") -> Site:
    site = site_by_slug(slug)
    if site is None:
        raise click.BadParameter(f"no site '{slug}'", param_hint=param_hint)
    return site


def ready_scoring(wait_s: int):
    """Load the model and wait for it; a failed load ends the wait at once with the model's error."""
    scoring = get_scoring()
    scoring.start()
    deadline = time.monotonic() + wait_s
    while not scoring.wait_ready(0.2):
        if scoring.state in (ScorerState.FAILED, ScorerState.DISABLED) or time.monotonic() >= deadline:
            break
    if not scoring.wait_ready(0):
        status = scoring.status()
        raise click.ClickException(f"the model is not ready ({status.get('state')}: "
                                   f"{status.get('error') or 'still loading'})")
    return scoring
