"""The last encoder layer computed for the first token only: same logits, ~7% fewer FLOPs on a 12-layer model.

Detoxify's classifiers read the last layer's output at the first token (<s>/[CLS]) only; there the other tokens
need only their keys and values (2·h² of a layer's 12·h² multiply-adds per token). Used by the ONNX export (here,
checked on a padded batch first) and packed batches (packed.py); ALBERT (``-small``) shares one layer: left whole.
"""
from __future__ import annotations

import contextlib

from discuss.scoring import packed

SAME_LOGITS = 1e-4  # float reordering only: seen ~4e-6 on roberta-base


def supports(model) -> bool:
    """The BERT-family classifiers packed.py runs (distinct layers with .attention.self.{query,key,value}),
    with a last layer to cut."""
    if not packed.supports(model):
        return False
    layers = getattr(getattr(model, model.base_model_prefix).encoder, "layer", None)
    return bool(layers) and hasattr(layers[-1], "attention")


def _first_token_layer(layer):
    """Wrap one BERT/RoBERTa layer so that it returns ``[batch, 1, hidden]``: the first token's output."""
    import torch

    class FirstTokenLayer(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, hidden_states, attention_mask=None, *args, **kwargs):
            attention, projections = self.inner.attention, self.inner.attention.self
            batch, heads = hidden_states.shape[0], projections.num_attention_heads
            size = projections.attention_head_size
            first = hidden_states[:, :1]
            query = projections.query(first).view(batch, 1, heads, size).transpose(1, 2)
            key, value = (projection(hidden_states).view(batch, -1, heads, size).transpose(1, 2)
                          for projection in (projections.key, projections.value))
            scores = torch.matmul(query, key.transpose(-1, -2)) * getattr(projections, "scaling", size ** -0.5)
            if attention_mask is not None:  # additive [batch, 1, queries, keys]; keep the first query's row
                mask = attention_mask[:, :, :1, : key.shape[-2]]
                scores = (scores.masked_fill(~mask, torch.finfo(scores.dtype).min) if mask.dtype == torch.bool
                          else scores + mask)
            context = torch.matmul(torch.softmax(scores, dim=-1), value)
            context = context.transpose(1, 2).reshape(batch, 1, heads * size)
            attended = attention.output(context, first)
            return self.inner.output(self.inner.intermediate(attended), attended)

    return FirstTokenLayer(layer).eval()


@contextlib.contextmanager
def first_token_last_layer(model):
    """Within the block ``model``'s last layer computes only the first token, if that leaves its logits
    unchanged (checked on a padded batch of two). Yields whether the cut is in place."""
    if not supports(model):
        yield False
        return
    import torch

    layers = getattr(model, model.base_model_prefix).encoder.layer
    last = layers[-1]
    ids = torch.randint(5, max(6, model.config.vocab_size), (2, 12), generator=torch.Generator().manual_seed(3))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask)[0]
        layers[-1] = _first_token_layer(last)
        try:
            same = bool((model(input_ids=ids, attention_mask=mask)[0] - expected).abs().max() <= SAME_LOGITS)
        except Exception:  # noqa: BLE001 - an encoder whose layer call differs: export it whole
            same = False
    if not same:
        layers[-1] = last
    try:
        yield same
    finally:
        layers[-1] = last
