"""Moving in: import another comment service's archive into a site, in one command.

``run_import`` runs the format's reader (in a reader process that also cleans the bodies: pipeline.py) into
the shared writer inside one transaction, and commits only if the whole file was read (``--dry-run`` rolls back even
then). A malformed or truncated file raises ``ImportFileError`` and leaves nothing behind.
"""
from __future__ import annotations

import gzip
import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from discuss.comments.importers import commento, disqus, isso, pipeline, remark42, wordpress
from discuss.comments.importers.base import CountingReader, ImportFileError, ImportSummary
from discuss.comments.importers.writer import ImportWriter
from discuss.extensions import db
from discuss.models import Site

READERS = {"disqus": disqus.read, "wordpress": wordpress.read, "remark42": remark42.read,
           "commento": commento.read, "comentario": commento.read}
FORMATS = ("disqus", "wordpress", "isso", "remark42", "commento", "comentario", "discuss")
# One reader takes both (told apart by the file's version), so both names share their import refs: importing the
# same archive under the other name adds nothing.
SOURCE_NAMES = {"comentario": "commento"}
ARTICLE_FROM = ("url", "identifier")

__all__ = ["ARTICLE_FROM", "FORMATS", "ImportFileError", "ImportOptions", "ImportSummary", "run_import"]


@dataclass
class ImportOptions:
    article_from: str = "url"
    dry_run: bool = False
    on_progress: Callable[[int], None] | None = None   # called with units done (bytes, or rows for Isso)


def progress_total(fmt: str, path: str) -> int:
    """What the progress bar counts to: the file's size in bytes (rows for an Isso database)."""
    if fmt == "isso":
        return isso.count_rows(path)
    return os.path.getsize(path)


def run_import(fmt: str, path: str, site: Site, options: ImportOptions | None = None) -> ImportSummary:
    options = options or ImportOptions()
    if fmt not in READERS and fmt != "isso":
        raise ImportFileError(f"unknown format '{fmt}'")
    if options.article_from not in ARTICLE_FROM:
        raise ImportFileError(f"--article-from must be one of {', '.join(ARTICLE_FROM)}")
    writer = ImportWriter(site, SOURCE_NAMES.get(fmt, fmt), options.article_from)
    try:
        writer.feed(pipeline.prepared(lambda on_progress: _records(fmt, path, on_progress), options.on_progress))
        summary = writer.finish(os.path.basename(path))
    except BaseException:
        db.session.rollback()
        raise
    summary.dry_run = options.dry_run
    if options.dry_run:
        db.session.rollback()
        summary.comment_ids = []
    else:
        db.session.commit()
    return summary


def _records(fmt: str, path: str, on_progress: Callable[[int], None] | None) -> Iterator:
    """The format reader's records (run in the reader process: pipeline.py)."""
    if fmt == "isso":
        yield from isso.read(path, on_progress)
        return
    with _open(path, on_progress) as stream:
        yield from READERS[fmt](stream)


@contextmanager
def _open(path: str, on_progress: Callable[[int], None] | None) -> Iterator[CountingReader]:
    with open(path, "rb") as raw:
        counted = CountingReader(raw, on_progress)
        if raw.read(2) == b"\x1f\x8b":  # gzip (Remark42 backups are gzipped)
            raw.seek(0)
            with gzip.GzipFile(fileobj=counted) as unzipped:
                try:
                    yield CountingReader(unzipped)
                except (EOFError, gzip.BadGzipFile) as err:
                    raise ImportFileError(f"truncated or damaged gzip file: {err}") from None
            return
        raw.seek(0)
        yield counted
