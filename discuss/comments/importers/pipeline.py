"""Reading and cleaning in a second process while this one writes: the two halves of an import overlap.

Per comment, parsing plus sanitizing costs about as much CPU as the database writes (bench/import.py prints
each). In one process they add up; here a forked reader process parses the file, cleans every body (the same
discuss.sanitize calls as a posted comment) and hands records over in batches through a bounded queue, so on
two cores the import takes about as long as the slower half. Memory stays flat: at most ``DEPTH`` batches wait.

The reader process touches no database and no app state; its errors (a malformed or truncated file) come back
as the same ImportFileError, raised here before the caller's transaction commits, so nothing is left behind.
"""
from __future__ import annotations

import multiprocessing
import queue as queue_module
import threading
from typing import Callable, Iterator

from discuss.comments.importers.base import ImportFileError, SourceComment, clean_body

BATCH = 500
DEPTH = 8
POLL_S = 1.0


def prepared(read: Callable[[], Iterator], on_progress: Callable[[int], None] | None = None) -> Iterator:
    """The records ``read()`` yields, bodies already cleaned (``SourceComment.cleaned``), read in a child process.
    ``read`` is called in the child; it reports progress through ``on_progress``'s counterpart there.

    It forks only when every other thread is one of the service's own background threads (``_BACKGROUND``: the
    sweeper, the scorer's loader), as in the ``flask discuss import`` command. A fork copies every lock as it
    stands, and one that some other thread (a web server's, a job worker's, a test harness's) holds at that
    instant stays held in the child for good: the reader, so the import, hangs. Then the records are read
    here instead, one half after the other."""
    if not _fork_is_safe():
        yield from _cleaned(read, on_progress or (lambda done: None))
        return
    context = multiprocessing.get_context("fork")  # the child needs the reader as it is here: no re-import
    channel = context.Queue(maxsize=DEPTH)
    child = context.Process(target=_produce, args=(read, channel), name="discuss-import-reader", daemon=True)
    child.start()
    try:
        while True:
            try:
                kind, payload, progressed = channel.get(timeout=POLL_S)
            except queue_module.Empty:
                if not child.is_alive():
                    raise RuntimeError(f"the import's reader process died (exit code {child.exitcode})") from None
                continue
            if on_progress is not None and progressed:
                on_progress(progressed)
            if kind == "records":
                yield from payload
            elif kind == "file_error":
                raise ImportFileError(payload)
            elif kind == "error":
                raise RuntimeError(f"the import's reader failed: {payload}")
            else:
                return
    finally:
        if child.is_alive():
            child.terminate()
        child.join(5)
        channel.close()


# The service's own background threads (sweeper, scorer and its loader, automatic rescoring): none of them runs
# the reader's code (parsing, sanitizing) or holds a lock it takes, and CPython itself re-creates its import
# and logging locks in a forked child. A job thread (discuss-job:*) runs anything, so it is not on the list.
_BACKGROUND = ("discuss-sweeper", "discuss-scorer", "discuss-rescore")


def _fork_is_safe() -> bool:
    return all(thread is threading.main_thread() or thread.name.startswith(_BACKGROUND)
               for thread in threading.enumerate())


def _cleaned(read: Callable[[], Iterator], count: Callable[[int], None]) -> Iterator:
    """The records ``read(count)`` yields, a comment's body cleaned: the reader's work, wherever it runs."""
    for record in read(count):
        if isinstance(record, SourceComment):
            record.cleaned = clean_body(record)
        yield record


def _produce(read: Callable[[], Iterator], channel) -> None:
    progressed = [0]

    def count(done: int) -> None:
        progressed[0] += done

    def send(kind: str, payload) -> None:
        channel.put((kind, payload, progressed[0]))
        progressed[0] = 0

    batch: list = []
    try:
        for record in _cleaned(read, count):
            batch.append(record)
            if len(batch) >= BATCH:
                send("records", batch)
                batch = []
        send("records", batch)
        send("done", None)
    except ImportFileError as err:
        send("file_error", str(err))
    except Exception as err:  # noqa: BLE001 - reported in the parent, which rolls back
        send("error", f"{type(err).__name__}: {err}")
    channel.close()
    channel.join_thread()
