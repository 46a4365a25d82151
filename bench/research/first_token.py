"""The last layer for the first token only (discuss/scoring/onnx_build.py) vs the whole layer, on ONNX.

    .venv/bin/python -m bench.research.first_token [--model unbiased] [--comments 96] [--rounds 3]

Exports the benchmark model twice, with and without the cut, fuses both as the product does, quantizes each
with the product's int8 recipe, and scores the same comments one per run (as the ONNX recipes serve) with
the product's OnnxScorer, all four variants in every round, interleaved, in one process. Prints median
comments/s over rounds, the ratio of each cut model to its whole counterpart, and the max |dlogit| of the
cut fp32 model against the whole one (float reordering only: the cut changes no arithmetic).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bench.checkpoints import DEFAULT_OUT, ensure_checkpoint  # noqa: E402


def build(reference, work: Path) -> dict[str, Path]:
    """Both exports as the product builds them (onnx_build.export_and_fuse), each fused and quantized."""
    from unittest import mock

    from discuss.scoring import onnx_build

    paths = {}
    for cut in (False, True):
        name = "cut" if cut else "whole"
        (work / name).mkdir()
        # the product cuts every model it supports: the whole layer is exported by saying it does not
        supports = onnx_build.packed.supports if cut else (lambda model: False)
        with mock.patch.object(onnx_build.packed, "supports", supports):
            fused, stats, was_cut = onnx_build.export_and_fuse(reference.model, work / name)
        assert was_cut is cut, f"export cut={was_cut}, wanted {cut}"
        assert stats is not None, "fusion failed: the bench would time unfused graphs"
        onnx_build.quantize_int8(fused, work / name / "model.int8.onnx")
        paths[f"fp32, {name} last layer"] = fused
        paths[f"int8, {name} last layer"] = work / name / "model.int8.onnx"
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="unbiased", choices=["unbiased", "original"])
    parser.add_argument("--comments", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from discuss.scoring.detoxify_scorer import DetoxifyScorer
    from discuss.scoring.onnx_scorer import OnnxScorer
    from discuss.scoring.samples import generate_comments

    checkpoint, config_dir = ensure_checkpoint(args.model, DEFAULT_OUT)
    reference = DetoxifyScorer(checkpoint=checkpoint, config_dir=config_dir, threads=args.threads)
    comments = generate_comments(args.comments, seed=11)
    with tempfile.TemporaryDirectory(dir=DEFAULT_OUT) as work:
        paths = build(reference, Path(work))
        scorers = {name: OnnxScorer(path, reference.tokenizer, reference.labels, reference.max_length,
                                    reference.pad_id, args.threads) for name, path in paths.items()}
        for scorer in scorers.values():
            scorer.logits_batch(comments[:4])  # warm-up
        rates: dict[str, list[float]] = {name: [] for name in scorers}
        logits: dict[str, np.ndarray] = {}
        for _ in range(args.rounds):
            for name, scorer in scorers.items():
                started = time.perf_counter()
                logits[name] = scorer.logits_batch(comments)
                rates[name].append(len(comments) / (time.perf_counter() - started))
    lengths = [len(ids) for ids in reference.encode(comments)]
    print(f"{args.model}: {len(comments)} comments one per run, tokens median {statistics.median(lengths):.0f} "
          f"mean {statistics.mean(lengths):.0f}; {args.rounds} rounds, {args.threads} threads")
    print(f"{'variant':<28}{'c/s (median)':>14}{'rounds':>24}{'vs whole':>10}")
    for name, values in rates.items():
        whole = statistics.median(rates[name.replace("cut", "whole")])
        print(f"{name:<28}{statistics.median(values):>14.2f}{str([round(v, 1) for v in values]):>24}"
              f"{statistics.median(values) / whole:>9.2f}x")
    drift = np.abs(logits["fp32, cut last layer"] - logits["fp32, whole last layer"]).max()
    print(f"max |dlogit| fp32 cut vs whole: {drift:.1e}")


if __name__ == "__main__":
    main()
