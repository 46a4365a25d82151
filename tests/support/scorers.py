"""The one scorer double (for rule, API and scoring-service tests; the real Detoxify path has its own tests).

``FakeScorer()`` scores by keyword; ``FakeScorer(fixed={...})`` gives every text the same scores (threshold
edges); ``FakeScorer(by_length=True)`` scores ``len(text) / 100`` (order and batching checks);
``delay`` sleeps per batch (time budgets, micro-batching), ``fail`` raises (a crashed model) and ``gate`` is
called before each batch (holds a scoring run mid-flight, for race tests).
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Sequence

from discuss.scoring.base import CORE_LABELS

LOW = 0.02
DEFAULT_KEYWORDS = {
    "idiot": {"toxicity": 0.91, "insult": 0.88},
    "moron": {"toxicity": 0.75, "insult": 0.72},
    "kill you": {"toxicity": 0.97, "threat": 0.93, "severe_toxicity": 0.97},
}


class FakeScorer:
    labels = CORE_LABELS

    def __init__(self, keywords: dict[str, dict[str, float]] | None = None, *,
                 fixed: dict[str, float] | None = None, by_length: bool = False,
                 delay: float = 0.0, fail: bool = False, gate: Callable[[], object] | None = None):
        self.keywords = DEFAULT_KEYWORDS if keywords is None else keywords
        self.gate = gate
        self.fixed, self.by_length, self.delay, self.fail = fixed, by_length, delay, fail
        self.calls: list[list[str]] = []  # every batch asked for, in order
        self._lock = threading.Lock()

    def score_one(self, text: str) -> dict[str, float]:
        if self.by_length:
            return {label: min(1.0, len(text) / 100) for label in self.labels}
        scores = {label: LOW for label in self.labels}
        if self.fixed is not None:
            return {**scores, **self.fixed}
        lowered = text.lower()
        for keyword, overrides in self.keywords.items():
            if keyword in lowered:
                scores.update(overrides)
        return scores

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        with self._lock:
            self.calls.append(list(texts))
        if self.gate is not None:
            self.gate()
        if self.delay:
            time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("model crashed")
        return [self.score_one(t) for t in texts]
