"""Builds the configured scorer (Detoxify by name online, or a local checkpoint offline)."""
from __future__ import annotations

from typing import Any, Callable

from discuss.scoring.base import Scorer


def build_loader(config: dict[str, Any]) -> tuple[Callable[[], Scorer], str]:
    model = config.get("TOXICITY_MODEL", "unbiased")
    checkpoint = config.get("TOXICITY_CHECKPOINT")
    config_dir = config.get("TOXICITY_CONFIG_DIR")

    def load() -> Scorer:
        from discuss.scoring.detoxify_scorer import DetoxifyScorer

        return DetoxifyScorer(model, checkpoint=checkpoint, config_dir=config_dir,
                              threads=int(config.get("SCORER_THREADS", 2)))

    return load, f"detoxify:{model}" + (f" ({checkpoint})" if checkpoint else "")
