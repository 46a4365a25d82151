"""The import's reader process (comments/importers/pipeline.py): it forks only a single-threaded process.

A fork copies every lock as it stands; one that another thread holds at that instant stays held in the
child for good, and the reader (so the import) hangs. The whole suite hung that way for minutes, the reader
forked from a test process running web servers and job threads. So unless every other thread is one of the
service's own background threads (sweeper, scorer), the records are read in this process.
"""
from __future__ import annotations

import os
import threading

from discuss.comments.importers import pipeline


def _read_pids(count):
    for _ in range(3):
        count(1)
        yield ("read in", os.getpid())


def _pids(progress: list[int]) -> set[int]:
    return {pid for _, pid in pipeline.prepared(_read_pids, progress.append)}


def test_a_single_threaded_import_reads_in_a_forked_child(monkeypatch):
    monkeypatch.setattr(pipeline.threading, "enumerate", lambda: [pipeline.threading.main_thread()])  # the CLI
    progress: list[int] = []
    assert _pids(progress) - {os.getpid()}, "read in a second process"
    assert sum(progress) == 3


def test_with_a_foreign_thread_running_the_import_reads_here_and_never_forks():
    release = threading.Event()
    busy = threading.Thread(target=release.wait, daemon=True)  # a web server or job thread, say
    busy.start()
    try:
        progress: list[int] = []
        assert _pids(progress) == {os.getpid()}
        assert sum(progress) == 3
    finally:
        release.set()
        busy.join()


def test_the_services_own_background_threads_do_not_stop_the_fork(monkeypatch):
    sweeper = threading.Thread(name="discuss-sweeper")
    monkeypatch.setattr(pipeline.threading, "enumerate", lambda: [pipeline.threading.main_thread(), sweeper])
    assert pipeline._fork_is_safe()
    for foreign in ("Thread-7 (serve_forever)", "discuss-job:deliver"):  # a server's; a job runs anything
        other = threading.Thread(name=foreign)
        monkeypatch.setattr(pipeline.threading, "enumerate", lambda: [pipeline.threading.main_thread(), sweeper, other])
        assert not pipeline._fork_is_safe(), foreign
