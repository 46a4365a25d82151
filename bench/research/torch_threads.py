"""Does torch score slower from a thread other than the one it first ran on? (Why the service loads the model on
its scoring thread, and why the bf16 recipe is not the default.)

    .venv/bin/python -m bench.research.torch_threads [--model unbiased|original|trained] [--recipe bf16|torch]

Loads the model on the main thread (as before the fix), then alternates: score N comments one at a time on the
main thread, then the same on a new thread. Prints comments/s and the process's CPU use (cores busy) per round
and the medians: with 2 intra-op threads, how much of the second core a non-main thread gets. Then, in a fresh
process, the product's arrangement: the model loaded and scored on one non-main thread that torch never left.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bench.checkpoints import DEFAULT_OUT, ensure_checkpoint  # noqa: E402


def timed(scorer, texts) -> tuple[float, float]:
    """(comments/s, cores busy) scoring ``texts`` one at a time on the calling thread."""
    scorer.logits_batch(texts[:2])
    cpu0, wall0 = os.times(), time.perf_counter()
    for text in texts:
        scorer.logits_batch([text])
    cpu1, wall = os.times(), time.perf_counter() - wall0
    return len(texts) / wall, ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="unbiased")
    parser.add_argument("--recipe", default="bf16",
                        help="bf16 (torch, bf16 matmuls; needs native bf16) or torch (plain fp32)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--comments", type=int, default=32)
    parser.add_argument("--one-thread", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_thread:
        worker = threading.Thread(target=one_thread, args=(args,))
        worker.start()
        worker.join()
        return
    two_threads(args)
    import subprocess

    subprocess.run([sys.executable, "-m", "bench.research.torch_threads", "--one-thread", "--model", args.model,
                    "--recipe", args.recipe, "--rounds", str(args.rounds), "--comments", str(args.comments)],
                   cwd=str(ROOT), check=True)


def load(args):
    from discuss.scoring.factory import ScorerSettings, load_scorer
    from discuss.scoring.samples import generate_comments

    checkpoint, config_dir = ensure_checkpoint(args.model)
    backend, recipes = ("torch", None) if args.recipe == "torch" else ("onnx", (args.recipe,))
    scorer = load_scorer(ScorerSettings(checkpoint=checkpoint, config_dir=config_dir, backend=backend, threads=2,
                                        cache_dir=str(DEFAULT_OUT / "onnx-cache"), tolerance=1.0, recipes=recipes))
    return scorer, generate_comments(args.comments, seed=7)


def one_thread(args) -> None:
    scorer, texts = load(args)
    rows = [timed(scorer, texts) for _ in range(args.rounds)]
    print(f"median one non-main thread (loaded there too) {statistics.median(r[0] for r in rows):6.1f} comments/s, "
          f"{statistics.median(r[1] for r in rows):.2f} cores busy   rounds: "
          + " ".join(f"{r[0]:.1f}" for r in rows))


def two_threads(args) -> None:
    scorer, texts = load(args)
    results: dict[str, list[tuple[float, float]]] = {"main thread": [], "new thread": []}
    print(f"{args.model} / {scorer.backend}: {args.comments} comments per round, 2 torch threads")
    for round_no in range(args.rounds):
        results["main thread"].append(timed(scorer, texts))
        box: list = []
        worker = threading.Thread(target=lambda: box.append(timed(scorer, texts)))
        worker.start()
        worker.join()
        results["new thread"].append(box[0])
        print(f"  round {round_no + 1}: main {results['main thread'][-1][0]:6.1f} c/s "
              f"({results['main thread'][-1][1]:.2f} cores)   new thread {box[0][0]:6.1f} c/s ({box[0][1]:.2f} cores)",
              flush=True)
    for name, rows in results.items():
        print(f"median {name:<12} {statistics.median(r[0] for r in rows):6.1f} comments/s, "
              f"{statistics.median(r[1] for r in rows):.2f} cores busy")


if __name__ == "__main__":
    main()
