"""Moving in and out: `import`, `export`, and operators' `privacy export|delete`."""
from __future__ import annotations

import json
import os

import click
from tqdm import tqdm

from discuss.cli.group import discuss_cli, ready_scoring, site_or_fail
from discuss.comments import operator_privacy
from discuss.comments.export import export_site
from discuss.comments.importers import (ARTICLE_FROM, FORMATS, ImportFileError, ImportOptions, progress_total,
                                        run_import)
from discuss.comments.importers import scoring as import_scoring
from discuss.comments.restore import restore_site
from discuss.errors import ApiError


def _bar(total: int, unit: str, desc: str):
    # A progress bar on a terminal only (disable=None turns it off when stderr is not a TTY).
    return tqdm(total=total, unit=unit, unit_scale=True, desc=desc, disable=None, leave=False)


@discuss_cli.command("import")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(FORMATS))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--site", "site_slug", required=True,
              help="Site to import into (for FORMAT discuss: the slug to restore as, which must be new).")
@click.option("--dry-run", is_flag=True, help="Read and check everything, then write nothing.")
@click.option("--article-from", type=click.Choice(ARTICLE_FROM), default="url", show_default=True,
              help="Take article ids from the source's page URL or its own identifier (match data-article).")
@click.option("--score", is_flag=True, help="Score the imported comments (their status stays as imported).")
@click.option("--route", is_flag=True, help="Also apply the site's rules to them (implies --score).")
def import_archive(fmt: str, path: str, site_slug: str, dry_run: bool, article_from: str, score: bool,
                   route: bool) -> None:
    """Import comments from disqus, wordpress, isso, remark42, commento/comentario, or a discuss export."""
    if fmt == "discuss":
        with _bar(os.path.getsize(path), "B", "restoring") as bar:
            try:
                counts = restore_site(path, site_slug, dry_run=dry_run, on_progress=bar.update)
            except (ImportFileError, ApiError) as err:
                raise click.ClickException(getattr(err, "message", None) or str(err)) from None
        click.echo(("dry run, nothing written: " if dry_run else "restored: ") +
                   " ".join(f"{k}={v}" for k, v in counts.items()))
        return
    site = site_or_fail(site_slug, "--site")
    options = ImportOptions(article_from=article_from, dry_run=dry_run)
    try:
        with _bar(progress_total(fmt, path), "rows" if fmt == "isso" else "B", f"importing {fmt}") as bar:
            options.on_progress = bar.update
            summary = run_import(fmt, path, site, options)
    except ImportFileError as err:
        raise click.ClickException(f"{err} (nothing was imported)") from None
    _echo_summary(summary)
    if (score or route) and summary.comment_ids:
        _score_imported(summary.comment_ids, route)


def _echo_summary(summary) -> None:
    data = summary.as_dict()
    click.echo(("dry run, nothing written: " if summary.dry_run else "imported: ") +
               f"threads={data['threads_created']} new, {data['threads_reused']} existing; "
               f"comments={data['comments']} ({', '.join(f'{k}={v}' for k, v in sorted(data['by_status'].items()))}); "
               f"authors={data['authors']} new")
    if data["replies_without_parent"]:
        click.echo(f"replies whose parent was missing (kept at the top level): {data['replies_without_parent']}")
    for reason, count in sorted(data["skipped"].items()):
        click.echo(f"skipped {count}: {reason}")
    for notice in data["notices"]:
        click.echo(f"check: {notice}")


def _score_imported(comment_ids: list[int], route: bool) -> None:
    if import_scoring.uses_queue():
        chunks = import_scoring.queue_scoring(comment_ids, route)
        click.echo(f"scoring queued for {len(comment_ids)} comments in {chunks} jobs (run `flask discuss worker`)")
        return
    ready_scoring(600)
    with _bar(len(comment_ids), "comments", "scoring") as bar:
        outcome = import_scoring.score_imported(comment_ids, route, on_progress=bar.update)
    click.echo("scored: " + " ".join(f"{k}={v}" for k, v in outcome.items()))


@discuss_cli.command("export")
@click.argument("slug")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="File to write (default: standard output).")
def export(slug: str, output: str | None) -> None:
    """Write the whole site as versioned JSON Lines (docs/export-format.md)."""
    site = site_or_fail(slug)
    with click.open_file(output or "-", "w", encoding="utf-8") as out:
        counts = export_site(site, out)
    if output:
        click.echo(f"exported to {output}: " + " ".join(f"{k}={v}" for k, v in counts.items()))


@discuss_cli.group("privacy")
def privacy_cli() -> None:
    """Operator tools for readers' data requests (by email or user id); both are audited."""


@privacy_cli.command("export")
@click.argument("who", metavar="EMAIL|USER_ID")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None)
def privacy_export(who: str, output: str | None) -> None:
    """Everything stored about a reader, as JSON."""
    try:
        data = operator_privacy.export_for_operator(who)
    except ApiError as err:
        raise click.ClickException(err.message) from None
    with click.open_file(output or "-", "w", encoding="utf-8") as out:
        json.dump(data, out, ensure_ascii=False, indent=2)
        out.write("\n")


@privacy_cli.command("delete")
@click.argument("who", metavar="EMAIL|USER_ID")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def privacy_delete(who: str, yes: bool) -> None:
    """Delete a reader's identity and apply each site's deletion policy to their comments."""
    try:
        users = operator_privacy.find_readers(who)
        if not yes:
            click.confirm(f"Delete {len(users)} reader identit{'y' if len(users) == 1 else 'ies'} for {who}?",
                          abort=True)
        result = operator_privacy.delete_for_operator(who)
    except ApiError as err:
        raise click.ClickException(err.message) from None
    click.echo(json.dumps(result))
