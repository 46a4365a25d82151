"""bf16 recipe: Detoxify's own torch model with every encoder matmul in bfloat16, everything else in fp32.

Between int8 (fast, but far from fp32 on trained weights) and fp32 (exact, slowest) this is the one precision
that both agrees with fp32 within 0.01 and runs faster, on CPUs with native bf16 dot products (AVX512-BF16 or
AMX; oneDNN picks them): weights are stored in bf16 and inputs rounded to bf16, while accumulation, biases,
residual sums, LayerNorm, softmax and the classifier head stay fp32. Rounding the residual stream itself to
bf16 (``model.to(torch.bfloat16)``) doubles the error, so only the matmul operands are. Without native bf16,
torch emulates it slower than fp32, so the recipe is skipped there. Figures: README "Scoring speed".
"""
from __future__ import annotations

import copy
import gc

from discuss.scoring.detoxify_scorer import return_freed_memory

HEAD_MODULES = ("classifier", "pooler")  # kept fp32: their error goes straight into the logits


def native_bf16() -> bool:
    """Does this CPU multiply bf16 natively (oneDNN's check)?"""
    import torch

    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # noqa: BLE001 - an older or stripped torch: treat as unsupported
        return False


def _bf16_linear_class():
    import torch

    class BF16Linear(torch.nn.Module):
        """``linear(x, W) + b`` with W stored in bf16 and x rounded to bf16; output and bias fp32."""

        def __init__(self, linear: torch.nn.Linear):
            super().__init__()
            self.register_buffer("weight", linear.weight.detach().to(torch.bfloat16))
            self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().clone())

        def forward(self, x):
            y = torch.nn.functional.linear(x.to(torch.bfloat16), self.weight).float()
            return y if self.bias is None else y + self.bias

    return BF16Linear


def replace_linears(module, linear_class) -> int:
    """Replace every encoder ``nn.Linear`` (not the head) by ``linear_class(linear)``; how many were replaced."""
    import torch

    converted = 0
    for name, child in list(module.named_children()):
        if name in HEAD_MODULES:
            continue
        if isinstance(child, torch.nn.Linear):
            setattr(module, name, linear_class(child))
            converted += 1
        else:
            converted += replace_linears(child, linear_class)
    return converted


PACKED_MAX_BATCH = 16  # the service's micro-batch size: a whole batch of concurrent posts in one pass
# Tokens per packed pass. Matmuls are as efficient at 1024 rows as at 4096, but activations are 4x smaller:
# on roberta-base 16.1 vs 15.2 comments/s and 815 vs 875 MB RSS after 160 comments (512: 13.8/s, 757 MB).
PACKED_MAX_TOKENS = 1024


def to_bf16(scorer):
    """Convert a loaded DetoxifyScorer in place; returns it, now backend "torch-bf16".

    BERT/RoBERTa models score a batch of comments in one padding-free pass (``packed``), which is where
    bf16's faster matmuls pay off: one tall matrix per layer instead of one short one per comment. Other
    architectures go one comment per pass (padded batches were slower on 2 cores, as for ONNX)."""
    from discuss.scoring import packed

    converted = replace_linears(scorer.model, _bf16_linear_class())
    scorer.backend = "torch-bf16"
    scorer.packed = packed.PackedForward(scorer.model) if packed.supports(scorer.model) else None
    if scorer.packed is not None:
        scorer.max_batch, scorer.max_tokens = PACKED_MAX_BATCH, PACKED_MAX_TOKENS
    else:
        scorer.max_batch = 1
    scorer.info = {"recipe": "bf16", "bf16_linears": converted, "packed": scorer.packed is not None}
    gc.collect()
    return_freed_memory()
    return scorer


def from_reference(reference, threads: int):
    """A bf16 scorer built from a copy of a loaded DetoxifyScorer, which stays fp32 for the agreement check."""
    from discuss.scoring.detoxify_scorer import DetoxifyScorer

    return to_bf16(DetoxifyScorer(detoxify=copy.deepcopy(reference.detoxify), threads=threads))
