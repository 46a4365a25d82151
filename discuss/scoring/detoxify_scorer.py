"""Plain Detoxify on torch: the reference scoring path, and the fallback when no fast recipe is usable. Its model
runs on length-sorted batches (``Detoxify.predict`` pads a whole list to one length)."""
from __future__ import annotations

import ctypes
import gc

import numpy as np

from discuss.scoring import batching


class DetoxifyScorer(batching.BatchedScorer):
    backend = "torch"

    def __init__(self, model_type: str = "unbiased", checkpoint: str | None = None,
                 config_dir: str | None = None, threads: int = 2, *, detoxify=None):
        import torch
        from detoxify import Detoxify

        torch.set_num_threads(max(1, int(threads)))
        if detoxify is None:
            detoxify = (Detoxify(checkpoint=checkpoint, huggingface_config_path=config_dir) if checkpoint
                        else Detoxify(model_type))
        self.detoxify, self.model, tokenizer = detoxify, detoxify.model.eval(), detoxify.tokenizer
        super().__init__(tokenizer, detoxify.class_names, batching.resolve_max_length(tokenizer, self.model.config),
                         tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
        return out[0].float().numpy()

    def release(self) -> None:
        """Drop the torch weights (after a fast recipe took over) so the process gives the memory back."""
        self.model = None
        self.detoxify.model = None
        gc.collect()
        return_freed_memory()


def return_freed_memory() -> None:
    """glibc keeps freed weights and build buffers in its heap; malloc_trim hands them back to the OS (RSS).
    Elsewhere a no-op."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
