"""Padding-free batches for BERT-family encoders (the bf16 recipe): the batch's tokens laid end to end as one tall
``[total_tokens, hidden]`` matrix that every per-token step runs over once; only attention runs per comment, on its
own slice. The model's own modules do the work, so it is the padded forward up to float rounding. The last layer
runs for the first tokens only (onnx_build.py). ``bert``, ``roberta``, ``xlm-roberta``; ALBERT stays padded.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

SUPPORTED_TYPES = ("bert", "roberta", "xlm-roberta")
# oneDNN (torch's bf16 matmul) builds and keeps a kernel per distinct matrix height, ~2 MB each, so packed
# batches of every possible token count would grow the process by hundreds of MB over a day. Heights are
# rounded up to these steps (unused rows are computed and dropped): at most 16 + 60 shapes, ~7% extra rows.
_SMALL_STEP, _SMALL_LIMIT, _LARGE_STEP = 16, 256, 64


def supports(model) -> bool:
    """Is this a sequence classifier whose encoder this module knows how to run packed?"""
    config = model.config
    return config.model_type in SUPPORTED_TYPES and not config.is_decoder and hasattr(model, "classifier")


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
        # RoBERTa and XLM-R number positions from padding_idx + 1 (HF's create_position_ids_from_input_ids)
        self.first_position = 0 if self.config.model_type == "bert" else self.config.pad_token_id + 1

    def logits(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        import torch

        lengths = [len(seq) for seq in sequences]
        starts = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        with torch.inference_mode():
            hidden = self._embed(sequences, lengths, padded_rows(starts[-1]) - starts[-1])
            *layers, last = self.base.encoder.layer
            for layer in layers:
                hidden = self._layer(layer, hidden, lengths, starts)
            out = self._head(self._layer(last, hidden, lengths, starts, first_only=True))
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

    def _layer(self, layer, hidden, lengths, starts, first_only: bool = False):
        """One encoder layer over the packed tokens; ``first_only``: for each comment's first token only (<s>/[CLS],
        all the head reads; onnx_build.py), which needs every token's keys and values but one query row."""
        context = self._attend(layer.attention.self, hidden[0], lengths, starts, first_only)
        if first_only:  # [batch, 1, hidden]
            context, hidden = context.unsqueeze(1), hidden[0, starts[:-1]].unsqueeze(1)
        attended = layer.attention.output(context.unsqueeze(0) if not first_only else context, hidden)
        return layer.output(layer.intermediate(attended), attended)

    def _attend(self, projections, hidden, lengths, starts, first_only: bool):
        """Softmax attention within each comment's own slice; Q/K/V projected for all tokens at once."""
        import torch

        query = projections.query(hidden[starts[:-1]] if first_only else hidden)
        key, value = projections.key(hidden), projections.value(hidden)
        context = torch.zeros_like(query)  # spare rows stay 0: finite, and dropped at the end
        scale = getattr(projections, "scaling", self.head_size ** -0.5)
        for row, (start, length) in enumerate(zip(starts, lengths)):
            rows = slice(row, row + 1) if first_only else slice(start, start + length)
            q = query[rows].view(-1, self.heads, self.head_size).transpose(0, 1)
            k, v = (t[start:start + length].view(length, self.heads, self.head_size).transpose(0, 1)
                    for t in (key, value))
            attended = torch.nn.functional.scaled_dot_product_attention(q, k, v, scale=scale)
            context[rows] = attended.transpose(0, 1).reshape(q.shape[1], -1)
        return context

    def _head(self, first_tokens):
        if self.config.model_type == "bert":  # BertForSequenceClassification: pooler, dropout, classifier
            return self.model.classifier(self.model.dropout(self.base.pooler(first_tokens)))
        return self.model.classifier(first_tokens)  # RobertaClassificationHead takes features[:, 0]
