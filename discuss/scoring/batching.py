"""Tokenise, truncate, batch and pad, shared by every backend. Padding to 512 tokens makes scoring 5-6x slower:
batches are length-sorted, bounded by count and tokens, and padded to their longest member (or packed: packed.py)."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

MODEL_MAX_TOKENS = 512


def resolve_max_length(tokenizer, model_config=None) -> int:
    """The longest input the model accepts (512 for BERT/RoBERTa/ALBERT). A freshly trained tokenizer reports a
    huge ``model_max_length``; RoBERTa has 514 position embeddings of which 2 are reserved for the padding offset."""
    limits = [MODEL_MAX_TOKENS]
    declared = getattr(tokenizer, "model_max_length", None)
    if isinstance(declared, int) and declared > 0:
        limits.append(declared)
    positions = getattr(model_config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        limits.append(positions - (2 if getattr(model_config, "model_type", "") in {"roberta", "xlm-roberta"} else 0))
    return min(limits)


def encode(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids per text, truncated to ``max_length`` (special tokens included), unpadded."""
    if not texts:
        return []
    return [list(ids) for ids in tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]]


def plan_batches(lengths: Sequence[int], max_batch: int = 8, max_tokens: int = 4096,
                 sort: bool = True, packed: bool = False) -> list[list[int]]:
    """Indices grouped into batches: length-sorted (or in input order), at most ``max_batch`` items and
    ``max_tokens`` tokens each (a single over-long item still gets its own batch). Tokens are counted padded
    to the batch's longest member, or as they are for ``packed`` batches, which add no padding."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i]) if sort else list(range(len(lengths)))
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


def run_batched(sequences: Sequence[Sequence[int]], pad_id: int, num_labels: int,
                forward: Callable[[np.ndarray, np.ndarray], np.ndarray], max_batch: int = 8,
                max_tokens: int = 4096, sort: bool = True,
                packed: Callable[[Sequence[Sequence[int]]], np.ndarray] | None = None) -> np.ndarray:
    """Logits ``[len(sequences), num_labels]`` in input order, computed batch by batch: padded for ``forward``,
    or unpadded and in arrival order for ``packed`` (``packed.PackedForward.logits``). Only the first
    ``num_labels`` outputs are kept: the released ``unbiased`` checkpoint has 16 outputs but names 7 classes (9
    identity heads follow), and Detoxify's own ``predict`` likewise returns just the named classes."""
    out = np.zeros((len(sequences), num_labels), dtype=np.float32)
    lengths = [len(s) for s in sequences]
    for batch in plan_batches(lengths, max_batch, max_tokens, sort and packed is None, packed is not None):
        chosen = [sequences[i] for i in batch]
        out[batch] = (packed(chosen) if packed is not None else forward(*pad(chosen, pad_id)))[:, :num_labels]
    return out


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))


def to_dicts(labels: Sequence[str], probabilities: np.ndarray) -> list[dict[str, float]]:
    return [{label: float(row[j]) for j, label in enumerate(labels)} for row in probabilities]


class BatchedScorer:
    """Tokenize, batch, run ``_forward(ids, mask) -> logits`` (or ``packed``, a ``packed.PackedForward``), sigmoid.
    Subclasses set ``tokenizer``, ``labels``, ``max_length``, ``pad_id``, ``max_batch``, ``max_tokens``, ``_lock``."""

    packed = None

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return encode(self.tokenizer, texts, self.max_length)

    def logits_batch(self, texts: Sequence[str], *, max_batch: int | None = None,
                     sort: bool = True) -> np.ndarray:
        sequences = self.encode(texts)
        if not sequences:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        with self._lock:
            return run_batched(sequences, self.pad_id, len(self.labels), self._forward, max_batch or self.max_batch,
                               self.max_tokens, sort, self.packed.logits if self.packed is not None else None)

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return to_dicts(self.labels, sigmoid(self.logits_batch(texts)))
