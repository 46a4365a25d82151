"""Padding-free (packed) batches vs one comment per pass vs padded batches, for a torch recipe, in one process.

    .venv/bin/python -m bench.research.packed_batches [--recipe bf16|fp32] [--model unbiased] [--comments 160]

``--recipe`` defaults to bf16 where it is native, else fp32 (the unconverted model run packed: what packing
alone gives, on any CPU; the product packs only bf16, since ONNX fp32 serves where bf16 does not). Timings on
these machines swing by 25% between runs, so every variant runs in every round, interleaved, in the same
process, and the table shows the median comments/s over rounds plus each variant's ratio to plain fp32 torch one
comment per pass (the reference path), which runs in the same rounds, as does fused ONNX fp32 one comment per
pass (what ``auto`` serves when no torch recipe runs; built once into bench/out/onnx-cache). Comments come in
arrival order (no length sorting), as concurrent posts reach the service. Also prints the agreement of the
packed path with fp32 torch (the product's check) and RSS at the end.
"""
from __future__ import annotations

import argparse
import copy
import gc
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bench.checkpoints import DEFAULT_OUT, ensure_checkpoint  # noqa: E402
from bench.scoring import rss_mb  # noqa: E402


def _rate(score, comments, batch: int) -> float:
    started = time.perf_counter()
    for start in range(0, len(comments), batch):
        score(comments[start:start + batch], batch)
    return len(comments) / (time.perf_counter() - started)


def main() -> None:
    from discuss.scoring import onnx_scorer, torch_recipes
    from discuss.scoring.detoxify_scorer import DetoxifyScorer, return_freed_memory
    from discuss.scoring.factory import ScorerSettings, load_scorer
    from discuss.scoring.packed import PackedForward
    from discuss.scoring.samples import generate_comments

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", choices=[*torch_recipes.TORCH_RECIPES, "fp32"], default=None)
    parser.add_argument("--model", default="unbiased")
    parser.add_argument("--comments", type=int, default=160)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    recipe = args.recipe or ("bf16" if torch_recipes.native_bf16() else "fp32")
    skipped = recipe != "fp32" and torch_recipes.skip_reason(recipe)
    if skipped:
        sys.exit(f"{recipe} is skipped on this machine ({skipped}): nothing to measure")
    checkpoint, config_dir = ensure_checkpoint(args.model, DEFAULT_OUT)
    reference = DetoxifyScorer(checkpoint=checkpoint, config_dir=config_dir, threads=2)
    if recipe == "fp32":
        scorer = DetoxifyScorer(detoxify=copy.deepcopy(reference.detoxify), threads=2)
        scorer.packed = PackedForward(scorer.model)
    else:
        scorer = torch_recipes.convert(recipe, torch_recipes.copy_of(reference, threads=2))
    check = onnx_scorer.agreement(reference, scorer)
    comments = generate_comments(args.comments)

    unpacked = copy.copy(scorer)  # the same model without the packed forward, at the padded token budget
    unpacked.packed, unpacked.max_tokens = None, 4096

    def padded(texts, batch):  # the model's own padded forward, batches padded to their longest member
        return unpacked.logits_batch(texts, max_batch=batch)  # one batch per call: no sorting across batches

    def packed(texts, batch):  # what the product does: packed.PackedForward via BatchedScorer.logits_batch
        return scorer.logits_batch(texts, max_batch=batch)

    def plain_fp32(texts, batch):  # the reference path: the unconverted model, one padded pass per comment
        return reference.logits_batch(texts, max_batch=batch)

    onnx_fp32 = load_scorer(ScorerSettings(checkpoint=checkpoint, config_dir=config_dir, backend="onnx",
                                           threads=2, cache_dir=str(DEFAULT_OUT / "onnx-cache"), tolerance=1.0,
                                           recipes=("fp32",)))

    def fused_onnx(texts, batch):
        return onnx_fp32.logits_batch(texts, max_batch=batch)

    variants = {"fp32 torch, one per pass": (plain_fp32, 1), "fused ONNX fp32, one/pass": (fused_onnx, 1),
                "one comment per pass": (packed, 1)}
    for batch in (4, 8, 16):
        variants[f"packed batches of {batch}"] = (packed, batch)
    variants["padded batches of 8"] = (padded, 8)
    rates: dict[str, list[float]] = {name: [] for name in variants}
    scorer.logits_batch(comments[:8])  # warm-up
    reference.logits_batch(comments[:2])
    onnx_fp32.logits_batch(comments[:2])
    for _ in range(args.rounds):
        for name, (score, batch) in variants.items():
            rates[name].append(_rate(score, comments, batch))
    base = statistics.median(rates["fp32 torch, one per pass"])
    print(f"{args.model}, {recipe} recipe, {len(comments)} comments in arrival order, median of {args.rounds} "
          f"rounds; ratios to fp32 torch one comment per pass")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:<26} {median:6.1f} comments/s  x{median / base:.2f}")
    print(f"  agreement with fp32 (product check, 64 comments): max |dp| {check['max_prob_diff']:.4f} "
          f"|dlogit| {check['max_logit_diff']:.4f}")
    del reference, onnx_fp32
    gc.collect()
    return_freed_memory()
    print(f"  RSS at the end (fp32 reference and ONNX session dropped): {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
