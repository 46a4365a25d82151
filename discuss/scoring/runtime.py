"""Per-process scoring service: loads the model in the background, scores with a time budget.

One worker thread loads the model, then micro-batches: concurrent ``score()`` calls are collected for up to
``SCORER_BATCH_WINDOW_MS`` (or while the model is busy) into one batch of at most ``SCORER_MAX_BATCH`` comments.
Interactive ``score()`` calls go before bulk ``score_many()`` work (rescoring), which is cut into chunks so a post
never waits behind a whole backlog. Every caller keeps its own time budget.
"""
from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Callable, Sequence

from flask import Flask, current_app

from discuss.config import Config
from discuss.scoring.base import Scorer, ScorerState, ScoringUnavailable

EXTENSION_KEY = "discuss.scoring"
CALL, INTERACTIVE, BULK = -1, 0, 1  # a CALL job (the model load) runs before any scoring

log = logging.getLogger(__name__)
TimingHook = Callable[[str, float, int], None]  # (kind, seconds, comments): see ScoringService.add_timing_hook


@dataclass(order=True)
class _Job:
    priority: int
    seq: int
    future: Future = field(compare=False)
    texts: list = field(default_factory=list, compare=False)
    fn: Callable[[], object] | None = field(default=None, compare=False)  # a CALL job's work


class ScoringService:
    def __init__(self, loader: Callable[[], Scorer] | None, description: str = "", *,
                 max_batch: int = Config.SCORER_MAX_BATCH, window_ms: float = Config.SCORER_BATCH_WINDOW_MS):
        self._loader = loader
        self.description = description
        self.scorer: Scorer | None = None
        self.state = ScorerState.DISABLED if loader is None else ScorerState.LOADING
        self.error: str | None = None
        self.max_batch, self.window_s = max(1, int(max_batch)), max(0.0, float(window_ms) / 1000)
        self._stats = {"batches": 0, "texts": 0, "largest_batch": 0}
        self._ready = threading.Event()
        self._callbacks: list[Callable[[], None]] = []
        self._timers: list[TimingHook] = []
        self._queue: queue.PriorityQueue[_Job] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._started = False

    @classmethod
    def from_scorer(cls, scorer: Scorer, description: str = "injected", **options) -> "ScoringService":
        service = cls(lambda: scorer, description, **options)
        service._load()
        return service

    def start(self, wait: bool = False) -> None:
        """Load the model on the scoring thread, in the background (never on a request path) or, with ``wait``,
        before returning (CLI, workers); errors end up in state/error either way. Idempotent. Loaded there
        because torch scores markedly slower on a thread other than the one it first ran on
        (bench/research/README.md)."""
        if self.state is ScorerState.LOADING and not self._started:
            self._started = True
            loading = self._put(CALL, fn=self._load)
            if wait:
                loading.result()

    def _load(self) -> None:
        try:
            self.scorer = self._loader()
        except Exception as exc:  # a failed load must not take the web service down
            self.error = f"{type(exc).__name__}: {exc}"
            self.state = ScorerState.FAILED
            log.error("toxicity model failed to load: %s", self.error)
            return
        self.state = ScorerState.READY
        self._ready.set()
        if self._callbacks:  # not on this (the scoring) thread: a callback that scores would wait on itself
            threading.Thread(target=self._run_callbacks, name="discuss-scorer-ready", daemon=True).start()

    def _run_callbacks(self) -> None:
        for callback in list(self._callbacks):
            try:
                callback()
            except Exception:  # noqa: BLE001 - one bad callback must not block the others
                log.exception("scoring ready callback failed")

    def add_ready_callback(self, callback: Callable[[], None]) -> None:
        """Called (on a thread of its own) once the model becomes ready. Not called if it is ready already."""
        self._callbacks.append(callback)

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def add_timing_hook(self, hook: TimingHook) -> None:
        """``hook(kind, seconds, comments)``: kind ``interactive`` is one poster's whole wait in ``score`` (queue
        included), ``batch`` one model call. For metrics (discuss/health.py); a hook that raises is logged."""
        self._timers.append(hook)

    def _timed(self, kind: str, seconds: float, comments: int) -> None:
        for hook in self._timers:
            try:
                hook(kind, seconds, comments)
            except Exception:  # noqa: BLE001 - metrics must never fail a score
                log.exception("scoring timing hook failed")

    @property
    def queue_depth(self) -> int:
        """Scoring requests (chunks) waiting for the model in this process."""
        return self._queue.qsize()

    def score(self, text: str, timeout_s: float) -> dict[str, float]:
        started = time.perf_counter()
        try:
            return self._score([text], timeout_s, INTERACTIVE)[0]
        finally:
            self._timed("interactive", time.perf_counter() - started, 1)

    def score_many(self, texts: Sequence[str], timeout_s: float | None = None) -> list[dict[str, float]]:
        return self._score(list(texts), timeout_s, BULK)

    def _score(self, texts: list[str], timeout_s: float | None, priority: int) -> list[dict[str, float]]:
        if self.state is not ScorerState.READY or self.scorer is None:
            raise ScoringUnavailable(f"model_{self.state.value}")
        if not texts:
            return []
        size = self.max_batch
        futures = [self._put(priority, texts=texts[i:i + size]) for i in range(0, len(texts), size)]
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        results: list[dict[str, float]] = []
        try:
            for future in futures:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                results.extend(future.result(timeout=remaining))
        except Exception as exc:
            for future in futures:
                future.cancel()  # not started yet: the worker skips it
            if isinstance(exc, FutureTimeout):
                raise ScoringUnavailable("timeout") from None
            raise ScoringUnavailable(f"error:{type(exc).__name__}") from exc
        return results

    def status(self) -> dict:
        info = dict(getattr(self.scorer, "info", None) or {})
        return {"state": self.state.value, "model": self.description, "error": self.error,
                "backend": info.get("backend") or getattr(self.scorer, "backend", None),
                "fallback_reason": info.get("fallback_reason"),
                "agreement": info.get("agreement"),
                "load_seconds": info.get("load_seconds"),
                "labels": list(getattr(self.scorer, "labels", ()) or ()),
                "batching": {"max_batch": self.max_batch, **self._stats}}

    # --- the worker thread ---------------------------------------------------------------------------------

    def _put(self, priority: int, **job) -> Future:
        with self._thread_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="discuss-scorer", daemon=True)
                self._thread.start()
        future: Future = Future()
        self._queue.put(_Job(priority, next(self._seq), future, **job))
        return future

    def _collect(self) -> list[_Job]:
        first = self._queue.get()
        if first.priority == CALL:
            return [first]
        jobs, count = [first], len(first.texts)
        deadline = time.monotonic() + self.window_s
        while count < self.max_batch:
            try:
                remaining = deadline - time.monotonic()
                job = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if job.priority == CALL or count + len(job.texts) > self.max_batch:
                self._queue.put(job)  # same priority and sequence: it stays first in line
                break
            jobs.append(job)
            count += len(job.texts)
        return jobs

    def _run(self) -> None:
        while True:
            jobs = [job for job in self._collect() if job.future.set_running_or_notify_cancel()]
            if jobs and jobs[0].fn is not None:  # a CALL job comes alone
                try:
                    jobs[0].future.set_result(jobs[0].fn())
                except BaseException as exc:  # noqa: BLE001
                    jobs[0].future.set_exception(exc)
            elif jobs:  # else every caller in this batch gave up already
                self._run_batch(jobs)

    def _run_batch(self, jobs: list[_Job]) -> None:
        texts = [text for job in jobs for text in job.texts]
        started = time.perf_counter()
        try:
            results = self.scorer.score_batch(texts)
            if len(results) != len(texts):
                raise RuntimeError(f"scorer returned {len(results)} results for {len(texts)} texts")
        except BaseException as exc:  # noqa: BLE001 - hand every failure to the callers
            for job in jobs:
                job.future.set_exception(exc)
            return
        finally:  # failed model calls are timed too
            self._timed("batch", time.perf_counter() - started, len(texts))
        self._stats.update(batches=self._stats["batches"] + 1, texts=self._stats["texts"] + len(texts),
                           largest_batch=max(self._stats["largest_batch"], len(texts)))
        for job in jobs:
            job.future.set_result(results[:len(job.texts)])
            results = results[len(job.texts):]


def service_from_config(app: Flask) -> ScoringService:
    options = {"max_batch": int(app.config.get("SCORER_MAX_BATCH") or Config.SCORER_MAX_BATCH),
               "window_ms": float(app.config.get("SCORER_BATCH_WINDOW_MS", Config.SCORER_BATCH_WINDOW_MS))}
    injected = app.config.get("SCORER")
    if injected is not None:
        return ScoringService.from_scorer(injected, **options)
    if not app.config.get("SCORER_ENABLED", True):
        return ScoringService(None, "disabled", **options)
    from discuss.scoring.factory import build_loader

    loader, description = build_loader(app.config, cache_dir=os.path.join(app.instance_path, "scoring-cache"))
    return ScoringService(loader, description, **options)


def get_scoring(app: Flask | None = None) -> ScoringService:
    return (app or current_app).extensions[EXTENSION_KEY]
