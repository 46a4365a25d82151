"""Tokenise, truncate, batch and pad, shared by every backend. Padding to 512 tokens makes scoring 5-6x slower:
batches are length-sorted, bounded by count and tokens, and padded to their longest member (or packed: packed.py)."""
from __future__ import annotations

import threading
from typing import Sequence

import numpy as np


def resolve_max_length(tokenizer, model_config) -> int:
    """The longest input the model accepts (512 for BERT/RoBERTa/ALBERT). A freshly trained tokenizer reports a
    huge ``model_max_length``; RoBERTa has 514 position embeddings of which 2 are reserved for the padding offset."""
    offset = 2 if model_config.model_type in ("roberta", "xlm-roberta") else 0
    return min(512, tokenizer.model_max_length, model_config.max_position_embeddings - offset)


def plan_batches(lengths: Sequence[int], max_batch: int = 8, max_tokens: int = 4096,
                 packed: bool = False) -> list[list[int]]:
    """Indices grouped into batches of at most ``max_batch`` items and ``max_tokens`` tokens (a single over-long
    item still gets its own batch): length-sorted, tokens counted padded to the batch's longest member; or for
    ``packed`` batches, which add no padding, in input order with tokens counted as they are."""
    order = list(range(len(lengths))) if packed else sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        widths = [lengths[i] for i in current] + [lengths[index]]
        tokens = sum(widths) if packed else max(widths) * len(widths)
        if current and (len(current) >= max_batch or tokens > max_tokens):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def pad(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask) int64 arrays padded on the right to the longest sequence."""
    width = max(len(seq) for seq in sequences)
    ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        ids[row, :len(seq)] = seq
        mask[row, :len(seq)] = 1
    return ids, mask


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))


class BatchedScorer:
    """Tokenize, batch, run ``_forward(ids, mask) -> logits`` (or ``packed``, a ``packed.PackedForward``), sigmoid.
    Subclasses set ``backend`` and may change ``max_batch`` and ``max_tokens``."""

    packed = None
    max_batch, max_tokens = 8, 4096

    def __init__(self, tokenizer, labels: Sequence[str], max_length: int, pad_id: int):
        self.tokenizer, self.labels, self.max_length, self.pad_id = tokenizer, tuple(labels), max_length, pad_id
        self.info: dict = {}
        self._lock = threading.Lock()  # one forward pass at a time: each already uses every thread

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text, truncated to ``max_length`` (special tokens included), unpadded."""
        if not texts:
            return []
        return [list(ids) for ids in self.tokenizer(list(texts), truncation=True,
                                                    max_length=self.max_length)["input_ids"]]

    def logits_batch(self, texts: Sequence[str], *, max_batch: int | None = None) -> np.ndarray:
        """Logits ``[len(texts), len(labels)]`` in input order. Only the first ``len(labels)`` outputs are kept:
        the released ``unbiased`` checkpoint has 16 outputs but names 7 classes (9 identity heads follow), and
        Detoxify's own ``predict`` likewise returns just the named classes."""
        sequences, packed = self.encode(texts), self.packed is not None
        out = np.zeros((len(sequences), len(self.labels)), dtype=np.float32)
        with self._lock:
            for batch in plan_batches([len(s) for s in sequences], max_batch or self.max_batch, self.max_tokens,
                                      packed):
                chosen = [sequences[i] for i in batch]
                logits = self.packed.logits(chosen) if packed else self._forward(*pad(chosen, self.pad_id))
                out[batch] = logits[:, :len(self.labels)]
        return out

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [dict(zip(self.labels, map(float, row))) for row in sigmoid(self.logits_batch(texts))]
