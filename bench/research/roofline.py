"""Roofline: the most comments/s any recipe of a given precision could reach on this machine.

    .venv/bin/python -m bench.research.roofline [--model unbiased] [--comments 160] [--threads 2]

Scoring a comment is almost all matrix multiplication, so its speed is bounded by how fast this CPU multiplies
matrices. This benchmark counts the multiply-adds of the model (its real config: layers, hidden and FFN sizes)
for each of bench.scoring's comments (same generator and seed, same tokenizer, 512-token truncation), and
times the matmuls themselves on both runtimes the product uses, ONNX Runtime (MLAS) and torch (oneDNN/MKL,
FBGEMM), at two precisions:

- fp32: MatMul / Linear (what the exact recipes run; bf16 needs AVX-512 BF16, the dropped fp16w computed in
  fp32);
- int8: ORT with the product's own dynamic quantizer applied to the same MatMul (DynamicQuantizeLinear +
  MatMulInteger: activations quantized at run time, as in the int8 recipe); torch's dynamic int8 Linear.

It prints two ceilings per precision:

- "best rate": every multiply-add at the best rate either runtime reached on any matmul timed (the layer
  shapes at heights 1-512, and a large 1024 x 768 x 3072);
- "own shapes": each comment's weight matmuls timed at their real heights (the comment's token count, one
  comment per run as the ONNX recipes score), on whichever runtime was faster at that shape, attention
  products at the best rate, everything else free.

No real model can beat the lower of the two by more than noise: it leaves out tokenizing, attention softmax,
LayerNorm, GELU, memory traffic and scheduling. Then the mean comment length at which the best rate would
allow the target (30 comments/s) is printed: how short comments would have to be for the target to be
possible at that precision, whatever the software.

Last, the CPU's own peak (bench.research.cpu_peak: multiply-add instructions alone, from registers, on every
core) gives the ceiling no library can pass, for fp32 FMA (the recipes that agree with fp32 on AVX2), int8 (u8 x s8, as
MLAS and FBGEMM run it without VNNI) and int16 (the most precise integer path).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.checkpoints import DEFAULT_OUT, ensure_checkpoint  # noqa: E402

TARGET = 30.0
HEIGHTS = (1, 8, 16, 32, 48, 64, 96, 128, 192, 256, 384, 512)
BEST_SHAPE = (1024, 768, 3072)


def layer_shapes(hidden: int, ffn: int) -> list[tuple[int, int]]:
    """(K, N) of one layer's weight matmuls as the fused graph runs them: QKV as one, output, FFN in/out."""
    return [(hidden, 3 * hidden), (hidden, hidden), (hidden, ffn), (ffn, hidden)]


def multiply_adds(tokens: int, layers: int, hidden: int, ffn: int) -> dict[str, float]:
    """Weight and attention multiply-adds for one comment, the last layer for the first token only."""
    per_token = 4 * hidden * hidden + 2 * hidden * ffn
    weights = (layers - 1) * tokens * per_token + tokens * 2 * hidden * hidden + (per_token - 2 * hidden * hidden)
    attention = (layers - 1) * 2 * tokens * tokens * hidden + 2 * tokens * hidden
    return {"weights": float(weights), "attention": float(attention)}


def _matmul_graph(path: Path, k: int, n: int) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.random.default_rng(0).standard_normal((k, n)).astype(np.float32) * 0.05,
                                     "W")
    node = helper.make_node("MatMul", ["X", "W"], ["Y"], name="matmul")
    graph = helper.make_graph([node], "matmul", [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["m", k])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["m", n])], [weight])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))


def _ort_runner(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"X": x})


def _torch_runner(precision: str, k: int, n: int, threads: int):
    import warnings

    import torch

    warnings.simplefilter("ignore")  # torch.ao deprecation notices, several per shape

    torch.set_num_threads(threads)
    layer = torch.nn.Sequential(torch.nn.Linear(k, n, bias=False)).eval()
    if precision == "int8":  # FBGEMM dynamic int8, what torch.ao.quantization.quantize_dynamic gives
        layer = torch.ao.quantization.quantize_dynamic(layer, {torch.nn.Linear}, dtype=torch.qint8)

    def run(x):
        with torch.inference_mode():
            return layer(torch.from_numpy(x))
    return run


def _runners(work: Path, precision: str, k: int, n: int, threads: int) -> dict:
    from discuss.scoring import onnx_build

    path = work / f"mm-{k}x{n}.onnx"
    _matmul_graph(path, k, n)
    if precision == "int8":
        quantized = work / f"mm-{k}x{n}.int8.onnx"
        onnx_build.quantize_int8(path, quantized)
        path = quantized
    return {"onnxruntime": _ort_runner(path, threads), "torch": _torch_runner(precision, k, n, threads)}


def _seconds(run, rows: int, k: int, budget: float = 0.2) -> float:
    """Median seconds of one run at ``rows`` x ``k`` (repeated for ~``budget`` s, after a warm-up)."""
    x = np.random.default_rng(rows).standard_normal((rows, k)).astype(np.float32)
    run(x)
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - started < budget and len(times) < 400):
        t = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def time_matmuls(work: Path, precision: str, shapes, threads: int) -> tuple[dict, dict]:
    """Seconds per (K, N, height), the faster runtime's at each, and each runtime's best multiply-add rate
    (per second) over all timed matmuls and the large one."""
    timings: dict = {}
    best: dict[str, float] = {}
    for k, n in set(shapes) | {BEST_SHAPE[1:]}:
        runners = _runners(work, precision, k, n, threads)
        heights = HEIGHTS if (k, n) in shapes else ()
        for runtime, run in runners.items():
            for rows in heights:
                seconds = _seconds(run, rows, k)
                timings[(k, n, rows)] = min(seconds, timings.get((k, n, rows), seconds))
                best[runtime] = max(best.get(runtime, 0.0), rows * k * n / seconds)
            if (k, n) == BEST_SHAPE[1:]:
                rate = BEST_SHAPE[0] * k * n / _seconds(run, BEST_SHAPE[0], k, budget=1.0)
                best[runtime] = max(best.get(runtime, 0.0), rate)
    return timings, best


def _at_height(timings: dict, k: int, n: int, rows: int) -> float:
    """Linear interpolation between the timed heights."""
    heights = np.array(HEIGHTS, dtype=float)
    return float(np.interp(rows, heights, [timings[(k, n, h)] for h in HEIGHTS]))


def own_shape_seconds(timings, tokens: int, layers: int, hidden: int, ffn: int, best: float) -> float:
    shapes = layer_shapes(hidden, ffn)
    full = sum(_at_height(timings, k, n, tokens) for k, n in shapes)
    # last layer: K and V for every token (2/3 of the QKV matmul), the rest for one row
    last = (2 / 3) * _at_height(timings, *shapes[0], tokens) + (1 / 3) * _at_height(timings, *shapes[0], 1) + \
        sum(_at_height(timings, k, n, 1) for k, n in shapes[1:])
    return (layers - 1) * full + last + multiply_adds(tokens, layers, hidden, ffn)["attention"] / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="unbiased", choices=["unbiased", "original"])
    parser.add_argument("--comments", type=int, default=160)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from tokenizers import Tokenizer

    from discuss.scoring.samples import generate_comments

    _, config_dir = ensure_checkpoint(args.model, DEFAULT_OUT)
    config = json.loads((Path(config_dir) / "config.json").read_text())
    layers, hidden, ffn = config["num_hidden_layers"], config["hidden_size"], config["intermediate_size"]
    tokenizer = Tokenizer.from_file(str(Path(config_dir) / "tokenizer.json"))
    tokenizer.enable_truncation(512)
    tokens = [len(tokenizer.encode(text).ids) for text in generate_comments(args.comments, seed=7)]
    work_per_comment = [sum(multiply_adds(t, layers, hidden, ffn).values()) for t in tokens]
    mean_work = statistics.mean(work_per_comment)
    print(f"{args.model}: {layers} layers, hidden {hidden}, FFN {ffn}; {args.comments} comments, tokens mean "
          f"{statistics.mean(tokens):.0f}, median {statistics.median(tokens):.0f}, max {max(tokens)}; "
          f"{mean_work / 1e9:.2f} G multiply-adds per comment on average; {args.threads} threads")
    print(f"{'precision':<10}{'best GMAC/s: ORT':>18}{'torch':>7}{'ceiling c/s (best rate)':>25}"
          f"{'ceiling c/s (own shapes)':>26}{'mean tokens for 30 c/s':>24}")
    with tempfile.TemporaryDirectory() as work:
        for precision in ("fp32", "int8"):
            timings, rates = time_matmuls(Path(work), precision, layer_shapes(hidden, ffn), args.threads)
            best = max(rates.values())
            own = statistics.mean(own_shape_seconds(timings, t, layers, hidden, ffn, best) for t in tokens)
            affordable = next((n for n in range(1, 513)
                               if sum(multiply_adds(n, layers, hidden, ffn).values()) > best / TARGET), 513) - 1
            print(f"{precision:<10}{rates['onnxruntime'] / 1e9:>18.1f}{rates['torch'] / 1e9:>7.1f}"
                  f"{best / mean_work:>25.1f}{1 / own:>26.1f}{affordable:>24}")
    print_cpu_peak(args.threads, mean_work)


def print_cpu_peak(threads: int, mean_work: float) -> None:
    """The ceiling at the CPU's instruction peak: every multiply-add at full rate and nothing else."""
    from bench.research.cpu_peak import peak_rates

    peaks = peak_rates(threads)
    if peaks is None:
        print("CPU peak: not measured (needs gcc and AVX2)")
        return
    print(f"CPU instruction peak, {threads} threads (bench.research.cpu_peak; no loads, only multiply-adds):")
    for precision, rate in peaks.items():
        print(f"  {precision:<6}{rate / 1e9:>7.1f} G multiply-adds/s: at most {rate / mean_work:.1f} comments/s")


if __name__ == "__main__":
    main()
