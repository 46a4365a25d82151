"""Per-process scoring service: loads the model in the background, scores with a time budget."""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Callable, Sequence

from flask import Flask, current_app

from discuss.scoring.base import Scorer, ScorerState, ScoringUnavailable

EXTENSION_KEY = "discuss.scoring"


class ScoringService:
    def __init__(self, loader: Callable[[], Scorer] | None, description: str = ""):
        self._loader = loader
        self.description = description
        self.scorer: Scorer | None = None
        self.state = ScorerState.DISABLED if loader is None else ScorerState.LOADING
        self.error: str | None = None
        self._ready = threading.Event()
        self._callbacks: list[Callable[[], None]] = []
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="discuss-scorer")

    @classmethod
    def from_scorer(cls, scorer: Scorer, description: str = "injected") -> "ScoringService":
        service = cls(lambda: scorer, description)
        service._load()
        return service

    def start(self) -> None:
        if self.state is ScorerState.LOADING:
            threading.Thread(target=self._load, name="discuss-model-load", daemon=True).start()

    def _load(self) -> None:
        try:
            self.scorer = self._loader()
        except Exception as exc:  # a failed load must not take the web service down
            self.error = f"{type(exc).__name__}: {exc}"
            self.state = ScorerState.FAILED
            return
        self.state = ScorerState.READY
        self._ready.set()
        for callback in list(self._callbacks):
            callback()

    def add_ready_callback(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def score(self, text: str, timeout_s: float) -> dict[str, float]:
        return self.score_many([text], timeout_s)[0]

    def score_many(self, texts: Sequence[str], timeout_s: float | None = None) -> list[dict[str, float]]:
        if self.state is not ScorerState.READY or self.scorer is None:
            raise ScoringUnavailable(f"model_{self.state.value}")
        future: Future = self._executor.submit(self.scorer.score_batch, list(texts))
        try:
            return future.result(timeout=timeout_s)
        except FutureTimeout:
            raise ScoringUnavailable("timeout") from None
        except Exception as exc:
            raise ScoringUnavailable(f"error:{type(exc).__name__}") from exc

    def status(self) -> dict:
        return {"state": self.state.value, "model": self.description, "error": self.error}


def init_scoring(app: Flask) -> None:
    injected = app.config.get("SCORER")
    if injected is not None:
        service = ScoringService.from_scorer(injected)
    elif not app.config.get("SCORER_ENABLED", True):
        service = ScoringService(None, "disabled")
    else:
        from discuss.scoring.factory import build_loader

        loader, description = build_loader(app.config)
        service = ScoringService(loader, description)
        service.start()
    app.extensions[EXTENSION_KEY] = service


def get_scoring(app: Flask | None = None) -> ScoringService:
    return (app or current_app).extensions[EXTENSION_KEY]
