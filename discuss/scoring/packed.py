"""Padding-free batches for BERT-family encoders (the bf16 recipe): several comments in one pass, no pad tokens.

The tokens of every comment in a batch are laid end to end as one ``[total_tokens, hidden]`` matrix: every
per-token step (embeddings, Q/K/V/output/FFN matmuls, LayerNorm, GELU) runs once over the batch, as one tall
matrix, and only attention runs per comment on its own slice. The model's own modules do the work (a
bf16-converted model stays bf16), so it is the padded forward's computation up to float rounding. The last layer
runs for each comment's first token only (first_token.py). Supported: ``bert``, ``roberta``, ``xlm-roberta``
(Detoxify's original, unbiased and multilingual); ALBERT (``-small``) keeps the padded path.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

SUPPORTED_TYPES = ("bert", "roberta", "xlm-roberta")
# oneDNN (torch's bf16 matmul) builds and keeps a kernel per distinct matrix height, ~2 MB each, so packed
# batches of every possible token count would grow the process by hundreds of MB over a day. Heights are
# rounded up to these steps (unused rows are computed and dropped): at most 16 + 60 shapes, ~7% extra rows.
_SMALL_STEP, _SMALL_LIMIT, _LARGE_STEP = 16, 256, 64
# RoBERTa numbers positions from padding_idx + 1 (HF's create_position_ids_from_input_ids)
_POSITION_OFFSET_TYPES = ("roberta", "xlm-roberta")


def supports(model) -> bool:
    """Is this a sequence classifier whose encoder this module knows how to run packed?"""
    config = getattr(model, "config", None)
    if getattr(config, "model_type", None) not in SUPPORTED_TYPES or getattr(config, "is_decoder", False):
        return False
    base = getattr(model, getattr(model, "base_model_prefix", ""), None)
    return base is not None and hasattr(base, "encoder") and hasattr(model, "classifier")


def padded_rows(tokens: int) -> int:
    """The matrix height a packed batch of ``tokens`` tokens runs at (see _SMALL_STEP)."""
    step = _SMALL_STEP if tokens <= _SMALL_LIMIT else _LARGE_STEP
    return -(-tokens // step) * step


class PackedForward:
    """``logits(sequences)`` for a list of unpadded token-id lists, one packed pass through ``model``."""

    def __init__(self, model):
        if not supports(model):
            raise ValueError(f"packed batches do not support model type {model.config.model_type!r}")
        self.model = model
        self.config = model.config
        self.base = getattr(model, model.base_model_prefix)
        self.heads = self.config.num_attention_heads
        self.head_size = self.config.hidden_size // self.heads
        offset = self.config.model_type in _POSITION_OFFSET_TYPES
        self.first_position = self.config.pad_token_id + 1 if offset else 0

    def logits(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        import torch

        lengths = [len(seq) for seq in sequences]
        starts = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        with torch.inference_mode():
            hidden = self._embed(sequences, lengths, padded_rows(starts[-1]) - starts[-1])
            *layers, last = self.base.encoder.layer
            for layer in layers:
                hidden = self._layer(layer, hidden, lengths, starts)
            out = self._head(self._first_token_layer(last, hidden, lengths, starts))
        return out.float().numpy()

    def _embed(self, sequences, lengths, spare_rows: int):
        """Embeddings of all tokens end to end, plus ``spare_rows`` pad tokens that no comment attends to."""
        import torch

        pad = self.config.pad_token_id or 0
        tokens = [token for seq in sequences for token in seq] + [pad] * spare_rows
        ids = torch.tensor(tokens, dtype=torch.long).unsqueeze(0)
        positions = torch.cat([torch.arange(n) for n in lengths] + [torch.zeros(spare_rows, dtype=torch.long)])
        positions = positions.unsqueeze(0) + self.first_position
        return self.base.embeddings(input_ids=ids, position_ids=positions, token_type_ids=torch.zeros_like(ids))

    def _layer(self, layer, hidden, lengths, starts):
        attention = layer.attention
        context = self._attend(attention.self, hidden[0], lengths, starts).unsqueeze(0)
        hidden = attention.output(context, hidden)
        return layer.output(layer.intermediate(hidden), hidden)

    def _first_token_layer(self, layer, hidden, lengths, starts):
        """The last layer for each comment's first token only (<s>/[CLS], all the head reads; see
        first_token.py): keys and values of every token, the rest for one row per comment."""
        import torch

        projections, firsts = layer.attention.self, hidden[0, starts[:-1]]  # [batch, hidden]
        query, key, value = projections.query(firsts), projections.key(hidden[0]), projections.value(hidden[0])
        scale = getattr(projections, "scaling", self.head_size ** -0.5)
        context = torch.empty_like(query)
        for row, (start, length) in enumerate(zip(starts, lengths)):
            q = query[row].view(self.heads, 1, self.head_size)
            k, v = (t[start:start + length].view(length, self.heads, self.head_size).transpose(0, 1)
                    for t in (key, value))
            context[row] = torch.nn.functional.scaled_dot_product_attention(q, k, v, scale=scale).reshape(-1)
        attended = layer.attention.output(context.unsqueeze(1), firsts.unsqueeze(1))  # [batch, 1, hidden]
        return layer.output(layer.intermediate(attended), attended)

    def _attend(self, self_attention, hidden, lengths, starts):
        """Q/K/V for all tokens at once; softmax attention within each comment's own slice."""
        import torch

        query, key, value = (projection(hidden) for projection in
                             (self_attention.query, self_attention.key, self_attention.value))
        context = torch.zeros_like(query)  # spare rows stay 0: finite, and dropped at the end
        scale = getattr(self_attention, "scaling", self.head_size ** -0.5)
        for start, length in zip(starts, lengths):
            heads = [t[start:start + length].view(length, self.heads, self.head_size).transpose(0, 1)
                     for t in (query, key, value)]
            attended = torch.nn.functional.scaled_dot_product_attention(*heads, scale=scale)
            context[start:start + length] = attended.transpose(0, 1).reshape(length, -1)
        return context

    def _head(self, first_tokens):
        if self.config.model_type == "bert":  # BertForSequenceClassification: pooler, dropout, classifier
            return self.model.classifier(self.model.dropout(self.base.pooler(first_tokens)))
        return self.model.classifier(first_tokens)  # RobertaClassificationHead takes features[:, 0]
