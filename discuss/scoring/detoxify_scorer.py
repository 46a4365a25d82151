"""Plain Detoxify: the reference scoring path."""
from __future__ import annotations

from typing import Sequence


class DetoxifyScorer:
    def __init__(self, model_type: str = "unbiased", checkpoint: str | None = None,
                 config_dir: str | None = None, threads: int = 2):
        import torch
        from detoxify import Detoxify

        torch.set_num_threads(threads)
        if checkpoint:
            self.model = Detoxify(checkpoint=checkpoint, huggingface_config_path=config_dir)
        else:
            self.model = Detoxify(model_type)
        self.labels = tuple(self.model.class_names)

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        raw = self.model.predict(list(texts))
        return [{label: float(raw[label][i]) for label in self.labels} for i in range(len(texts))]
