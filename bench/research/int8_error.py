"""Where int8's disagreement with fp32 comes from: a fake-quantization study on the torch model.

    .venv/bin/python -m bench.research.int8_error [--model unbiased] [--comments 64]

Every encoder Linear is replaced by one that rounds its weights to int8 per output channel (symmetric, as
ONNX Runtime's per-channel ``quantize_dynamic``) and optionally its input to uint8 (asymmetric, one scale per
tensor as ONNX Runtime does, or one scale per token), in fp32 arithmetic. Agreement is the max |dp| against
the unmodified fp32 model on the product's check comments, one comment at a time. Rows:

- all layers, weights only / + per-tensor activations / + per-token activations;
- only one layer's six matmuls quantized (weights and per-tensor activations), the rest fp32, per layer.

The "per-tensor" row reproduces what ``bench.scoring`` measures for the real ``int8`` recipe. If one layer
alone already costs most of the 0.01 budget, keeping some layers in fp32 cannot bring int8 within it while
keeping int8's speed, and the activation rows show how much finer activation scales recover.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bench.checkpoints import DEFAULT_OUT, ensure_checkpoint  # noqa: E402

def _fake_quant_class(settings: dict):
    import torch

    class FakeQuantLinear(torch.nn.Module):
        def __init__(self, linear):
            super().__init__()
            self.linear, self.enabled = linear, True
            weight = linear.weight.detach()
            scale = weight.abs().amax(1, keepdim=True) / 127
            self.quantized_weight = torch.round(weight / scale) * scale

        def forward(self, x):
            if not self.enabled:
                return self.linear(x)
            return torch.nn.functional.linear(_quantize_input(x, settings["activations"]),
                                              self.quantized_weight, self.linear.bias)

    return FakeQuantLinear


def _quantize_input(x, mode: str):
    import torch

    if mode == "none":
        return x
    dims = {"keepdim": True, "dim": -1} if mode == "token" else {}
    low = torch.clamp(x.amin(**dims), max=0)
    high = torch.clamp(x.amax(**dims), min=0)
    scale = torch.clamp((high - low) / 255, min=1e-12)
    zero = torch.round(-low / scale)
    return (torch.clamp(torch.round(x / scale) + zero, 0, 255) - zero) * scale


def _layer_of(name: str) -> int:
    return int(name.split("layer.")[1].split(".")[0])


def main() -> None:
    import numpy as np

    from discuss.scoring import batching
    from discuss.scoring.torch_recipes import replace_linears
    from discuss.scoring.detoxify_scorer import DetoxifyScorer
    from discuss.scoring.samples import agreement_comments

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="unbiased")
    parser.add_argument("--comments", type=int, default=64)
    args = parser.parse_args()
    checkpoint, config_dir = ensure_checkpoint(args.model, DEFAULT_OUT)
    scorer = DetoxifyScorer(checkpoint=checkpoint, config_dir=config_dir, threads=2)
    texts = agreement_comments()[:args.comments]
    reference = batching.sigmoid(scorer.logits_batch(texts, max_batch=1))
    settings = {"activations": "none"}
    fake_quant_linear = _fake_quant_class(settings)
    replace_linears(scorer.model, fake_quant_linear)  # the head stays fp32, as in the int8 recipe
    linears = {name: module for name, module in scorer.model.named_modules()
               if isinstance(module, fake_quant_linear)}

    def row(label: str) -> None:
        diff = np.abs(batching.sigmoid(scorer.logits_batch(texts, max_batch=1)) - reference)
        print(f"{label:<58} max |dp| {diff.max():.4f}  mean {diff.mean():.5f}", flush=True)

    print(f"{args.model}: {len(linears)} encoder Linears, {len(texts)} check comments, fake int8 in fp32 math")
    for mode, label in (("none", "weights only"), ("tensor", "+ per-tensor uint8 activations (ORT)"),
                        ("token", "+ per-token uint8 activations")):
        settings["activations"] = mode
        row(f"all layers, {label}")
    settings["activations"] = "tensor"
    for layer in sorted({_layer_of(name) for name in linears}):
        for name, linear in linears.items():
            linear.enabled = _layer_of(name) == layer
        row(f"only layer {layer} int8 (as the int8 recipe), rest fp32")


if __name__ == "__main__":
    main()
