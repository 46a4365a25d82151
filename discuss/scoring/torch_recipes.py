"""Torch recipes: Detoxify's own torch model with its encoder matmuls in a cheaper precision, everything else fp32.

Two recipes, both checked against plain fp32 like the ONNX ones (onnx_scorer) and both scoring micro-batches
in one padding-free pass (packed.py) on BERT/RoBERTa models:

- ``bf16``: weights stored in bf16 and inputs rounded to bf16; accumulation, biases, residual sums, LayerNorm,
  softmax and the classifier head stay fp32. Rounding the residual stream itself to bf16
  (``model.to(torch.bfloat16)``) doubles the error, so only the matmul operands are. Only on CPUs with
  native bf16 dot products (AVX512-BF16 or AMX; oneDNN picks them): elsewhere torch emulates it, slower
  than fp32, so the recipe is skipped.
- ``fp16w``: weights (and the word-embedding table) stored in fp16, arithmetic in fp32 (FBGEMM's fp16 GEMM
  widens the weights inside the kernel). Inputs are not rounded at all, so it agrees with fp32 ten times
  closer than bf16; it halves the weight memory the matmuls read, which is what a one-comment pass is bound
  by, and packed batches make the matmuls tall. x86 only (FBGEMM needs AVX2). Not a default: 1.5x plain
  torch, but measured on an AVX2 CPU without bf16, 7-12% slower than fused ONNX fp32, which wins there.

Between int8 (fast, but far from fp32 on trained weights) and fused ONNX fp32 (exact) these agree within 0.01;
bf16 beats fused fp32 where it is native. Figures: README "Scoring speed".
"""
from __future__ import annotations

import copy
import gc
from dataclasses import dataclass
from typing import Callable

from discuss.scoring.detoxify_scorer import return_freed_memory

HEAD_MODULES = ("classifier", "pooler")  # kept fp32: their error goes straight into the logits

PACKED_MAX_BATCH = 16  # the service's micro-batch size: a whole batch of concurrent posts in one pass
# Tokens per packed pass. Matmuls are as efficient at 1024 rows as at 4096, but activations are 4x smaller:
# on roberta-base (bf16) 16.1 vs 15.2 comments/s and 815 vs 875 MB RSS after 160 comments (512: 13.8/s, 757 MB).
PACKED_MAX_TOKENS = 1024


def native_bf16() -> bool:
    """Does this CPU multiply bf16 natively (oneDNN's check)?"""
    import torch

    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # noqa: BLE001 - an older or stripped torch: treat as unsupported
        return False


def fbgemm_fp16() -> bool:
    """Does this torch have FBGEMM's fp16-weight GEMM (x86 builds; ARM builds have QNNPACK only)?"""
    import torch

    return "fbgemm" in torch.backends.quantized.supported_engines


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


def _fp16_weight_linear_class():
    import torch

    class FP16WeightLinear(torch.nn.Module):
        """``linear(x, W, b)`` in fp32 with W kept in FBGEMM's packed fp16 form (the fp32 W is dropped)."""

        def __init__(self, linear: torch.nn.Linear):
            super().__init__()
            bias = None if linear.bias is None else linear.bias.detach().float().contiguous()
            self.packed_weight = torch.ops.quantized.linear_prepack_fp16(linear.weight.detach().float(), bias)

        def forward(self, x):
            return torch.ops.quantized.linear_dynamic_fp16(x, self.packed_weight)

    return FP16WeightLinear


def _fp16_embedding_class():
    import torch

    class FP16Embedding(torch.nn.Module):
        """A word-embedding table stored in fp16 (half of roberta-base's 154 MB); looked-up rows come back fp32."""

        def __init__(self, embedding: torch.nn.Embedding):
            super().__init__()
            self.register_buffer("weight", embedding.weight.detach().to(torch.float16))
            self.padding_idx = embedding.padding_idx

        def forward(self, ids):
            return torch.nn.functional.embedding(ids, self.weight).float()

    return FP16Embedding


def _replace_word_embeddings(model, embedding_class) -> bool:
    embeddings = getattr(getattr(model, model.base_model_prefix, None), "embeddings", None)
    if embeddings is None or not hasattr(embeddings, "word_embeddings"):
        return False
    embeddings.word_embeddings = embedding_class(embeddings.word_embeddings)
    return True


@dataclass(frozen=True)
class TorchRecipe:
    backend: str
    linear_class: Callable[[], type]  # builds the replacement nn.Module class (torch imported lazily)
    runs_here: Callable[[], bool]
    skipped_because: str  # why the recipe is skipped where ``runs_here()`` is False
    # the word-embedding table too: fp16 rounding of a looked-up row is far below what the matmuls add
    embedding_class: Callable[[], type] | None = None


TORCH_RECIPES = {
    # lambdas, so the checks are looked up when called (tests pretend to be other CPUs by patching them)
    "bf16": TorchRecipe("torch-bf16", _bf16_linear_class, lambda: native_bf16(),
                        "this CPU has no native bf16 matmul (torch would emulate it, slower than fp32)"),
    "fp16w": TorchRecipe("torch-fp16w", _fp16_weight_linear_class, lambda: fbgemm_fp16(),
                         "this torch build has no FBGEMM fp16 GEMM", _fp16_embedding_class),
}


def skip_reason(recipe: str) -> str | None:
    """None when ``recipe`` can run on this machine, else why not."""
    spec = TORCH_RECIPES[recipe]
    return None if spec.runs_here() else spec.skipped_because


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


def convert(recipe: str, scorer):
    """Convert a loaded DetoxifyScorer in place; returns it, now backend ``torch-<recipe>``.

    BERT/RoBERTa models score a batch of comments in one padding-free pass (``packed``), which is where the
    cheaper matmuls pay off: one tall matrix per layer instead of one short one per comment. Other
    architectures go one comment per pass (padded batches were slower on 2 cores, as for ONNX)."""
    from discuss.scoring import packed

    spec = TORCH_RECIPES[recipe]
    converted = replace_linears(scorer.model, spec.linear_class())
    embeddings = spec.embedding_class is not None and _replace_word_embeddings(scorer.model,
                                                                              spec.embedding_class())
    scorer.backend = spec.backend
    scorer.packed = packed.PackedForward(scorer.model) if packed.supports(scorer.model) else None
    if scorer.packed is not None:
        scorer.max_batch, scorer.max_tokens = PACKED_MAX_BATCH, PACKED_MAX_TOKENS
    else:
        scorer.max_batch = 1
    scorer.info = {"recipe": recipe, "converted_linears": converted, "converted_embeddings": embeddings,
                   "packed": scorer.packed is not None}
    gc.collect()
    return_freed_memory()
    return scorer


def from_reference(recipe: str, reference, threads: int):
    """A converted scorer built from a copy of a loaded DetoxifyScorer, which stays fp32 for the agreement
    check."""
    from discuss.scoring.detoxify_scorer import DetoxifyScorer

    return convert(recipe, DetoxifyScorer(detoxify=copy.deepcopy(reference.detoxify), threads=threads))
