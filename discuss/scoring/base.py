"""The scoring interface the comment pipeline depends on. Detoxify sits behind it."""
from __future__ import annotations

import enum
from typing import Protocol, Sequence

# Labels the moderation rules know about; models may return more (the unbiased model adds
# identity labels), and every score is stored.
CORE_LABELS = ("toxicity", "severe_toxicity", "obscene", "identity_attack", "insult", "threat",
               "sexual_explicit")


class ScorerState(str, enum.Enum):
    DISABLED = "disabled"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


class ScoringUnavailable(Exception):
    """The model is loading, failed, raised or ran out of time: the comment waits in the queue."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Scorer(Protocol):
    labels: tuple[str, ...]

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Scores in [0, 1] per label for each text, in input order."""
        ...
