"""Test doubles for the scorer (for rule and API tests; the real Detoxify path has its own tests)."""
from __future__ import annotations

import threading
import time
from typing import Sequence

from discuss.scoring.base import CORE_LABELS

LOW = 0.02


class KeywordScorer:
    """Deterministic scores: a text containing a keyword gets that keyword's scores, else LOW."""

    labels = CORE_LABELS

    def __init__(self, keywords: dict[str, dict[str, float]] | None = None):
        self.keywords = keywords if keywords is not None else {
            "idiot": {"toxicity": 0.91, "insult": 0.88},
            "moron": {"toxicity": 0.75, "insult": 0.72},
            "kill you": {"toxicity": 0.97, "threat": 0.93, "severe_toxicity": 0.97},
        }
        self.calls: list[list[str]] = []
        self._lock = threading.Lock()

    def score_one(self, text: str) -> dict[str, float]:
        scores = {label: LOW for label in self.labels}
        lowered = text.lower()
        for keyword, overrides in self.keywords.items():
            if keyword in lowered:
                scores.update(overrides)
        return scores

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        with self._lock:
            self.calls.append(list(texts))
        return [self.score_one(t) for t in texts]


class FixedScorer(KeywordScorer):
    """Every text gets the same scores: for threshold-edge tests."""

    def __init__(self, scores: dict[str, float]):
        super().__init__({})
        self.fixed = scores

    def score_one(self, text: str) -> dict[str, float]:
        return {**{label: LOW for label in self.labels}, **self.fixed}


class BrokenScorer(KeywordScorer):
    def score_batch(self, texts):
        raise RuntimeError("model crashed")


class SlowScorer(KeywordScorer):
    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def score_batch(self, texts):
        time.sleep(self.seconds)
        return super().score_batch(texts)
