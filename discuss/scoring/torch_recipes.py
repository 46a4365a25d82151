"""The ``bf16`` recipe: Detoxify's own torch model with weights and matmul inputs in bf16; accumulation, biases,
residual sums (bf16 there doubles the error), LayerNorm, softmax and the head stay fp32. Scores a micro-batch in
one packed pass (packed.py); only on CPUs with native bf16, elsewhere skipped and the skip recorded."""
from __future__ import annotations

import copy
import gc

from discuss.scoring.detoxify_scorer import return_freed_memory

HEAD_MODULES = ("classifier", "pooler")  # kept fp32: their error goes straight into the logits
TORCH_RECIPES = {"bf16": "torch-bf16"}  # recipe -> backend
PACKED_MAX_BATCH = 16  # the service's micro-batch size: a whole batch of concurrent posts in one pass
PACKED_MAX_TOKENS = 1024  # matmuls as fast as at 4096 rows, a quarter of the activations (bench/research)


def native_bf16() -> bool:
    """Does this CPU multiply bf16 in hardware (AVX512-BF16 or AMX-BF16 in x86 "flags", BF16 in Arm "Features")?
    Not oneDNN alone: it says yes on plain AVX-512 too, emulating bf16 slower than fp32 (bench/research)."""
    import torch

    if not (torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()):
        return False
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16", "bf16"})


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as handle:
            lines = [line for line in handle if line.startswith(("flags", "Features"))]
    except OSError:
        return set()
    return set(lines[0].split(":", 1)[1].split()) if lines else set()


def skip_reason(recipe: str) -> str | None:
    """None when ``recipe`` can run on this machine, else why not."""
    return None if native_bf16() else "this CPU has no native bf16 matmul (torch would emulate it, slower than fp32)"


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


def convert(recipe: str, scorer):
    """Convert a loaded DetoxifyScorer in place and return it. BERT/RoBERTa models score a batch in one packed
    pass (one tall matrix per layer); others one comment per pass."""
    from discuss.scoring import packed

    converted = replace_linears(scorer.model, _bf16_linear_class())
    scorer.backend = TORCH_RECIPES[recipe]
    scorer.packed = packed.PackedForward(scorer.model) if packed.supports(scorer.model) else None
    if scorer.packed is not None:
        scorer.max_batch, scorer.max_tokens = PACKED_MAX_BATCH, PACKED_MAX_TOKENS
    else:
        scorer.max_batch = 1
    scorer.info = {"recipe": recipe, "converted_linears": converted, "packed": scorer.packed is not None}
    gc.collect()
    return_freed_memory()
    return scorer


def copy_of(reference, threads: int):
    """An fp32 copy of a loaded DetoxifyScorer to convert: the reference stays fp32 for the agreement check."""
    from discuss.scoring.detoxify_scorer import DetoxifyScorer

    return DetoxifyScorer(detoxify=copy.deepcopy(reference.detoxify), threads=threads)
