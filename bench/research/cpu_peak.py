"""The CPU's own peak multiply-add rate, per precision: a ceiling no scoring library can beat.

    .venv/bin/python -m bench.research.cpu_peak [--threads 2] [--seconds 0.5]

bench.research.roofline bounds scoring speed by the best matmul rate ONNX Runtime or torch reached here. A
better library could in principle go faster, so this measures the instructions themselves. A small C kernel
(compiled here with gcc, AVX2) issues nothing but independent multiply-add instructions from registers (no
memory traffic, no loads, no loop-carried latency in the way), on every core at once:

- fp32: ``vfmadd231ps``, 8 multiply-adds each. Every recipe that agrees with fp32 Detoxify on an AVX2 CPU
  runs here: fp32 itself, and the dropped ``fp16w`` (FBGEMM widened fp16 weights to fp32 and multiplied in
  fp32). bf16 needs AVX-512 BF16, which AVX2 CPUs lack.
- int8: ``vpmaddubsw`` (32 u8 x s8 products summed in pairs to int16), ``vpmaddwd`` by ones (to int32) and
  ``vpaddd``: how ONNX Runtime's MLAS and FBGEMM multiply int8 on AVX2 without VNNI.
- int16: ``vpmaddwd`` (16 int16 x int16 products summed in pairs to int32) and ``vpaddd``: the most precise
  integer path, no faster per multiply-add than the int8 one where both are bound by the multiply ports.

The figures are upper bounds: real matmuls also load weights and activations, and scoring also tokenizes,
runs softmax, LayerNorm and GELU.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

# Multiply-adds issued by one pass of each kernel's loop body.
MACS_PER_PASS = {"fp32": 12 * 8, "int8": 6 * 32, "int16": 6 * 16}

_KERNEL = r"""
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

/* Each body issues independent multiply-adds into separate accumulators, so only throughput counts. */
static void fp32(long passes) {
  for (long i = 0; i < passes; i++)
    __asm__ volatile(
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm0\n vfmadd231ps %%ymm14, %%ymm15, %%ymm1\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm2\n vfmadd231ps %%ymm14, %%ymm15, %%ymm3\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm4\n vfmadd231ps %%ymm14, %%ymm15, %%ymm5\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm6\n vfmadd231ps %%ymm14, %%ymm15, %%ymm7\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm8\n vfmadd231ps %%ymm14, %%ymm15, %%ymm9\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm10\n vfmadd231ps %%ymm14, %%ymm15, %%ymm11\n"
      ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11");
}

#define U8S8(t, acc) "vpmaddubsw %%ymm14, %%ymm15, %%ymm" #t "\n vpmaddwd %%ymm13, %%ymm" #t ", %%ymm" #t "\n" \
                     "vpaddd %%ymm" #t ", %%ymm" #acc ", %%ymm" #acc "\n"
static void int8(long passes) {
  for (long i = 0; i < passes; i++)
    __asm__ volatile(U8S8(0, 6) U8S8(1, 7) U8S8(2, 8) U8S8(3, 9) U8S8(4, 10) U8S8(5, 11)
      ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11");
}

#define S16(t, acc) "vpmaddwd %%ymm14, %%ymm15, %%ymm" #t "\n vpaddd %%ymm" #t ", %%ymm" #acc ", %%ymm" #acc "\n"
static void int16(long passes) {
  for (long i = 0; i < passes; i++)
    __asm__ volatile(S16(0, 6) S16(1, 7) S16(2, 8) S16(3, 9) S16(4, 10) S16(5, 11)
      ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11");
}

/* Passes per second with every thread running the kernel at once (best of three timed runs). */
static double rate(void (*kernel)(long), double seconds, int threads) {
  long passes = 1 << 20;
  for (double t0 = now(); now() - t0 < 0.05; ) kernel(passes);   /* warm up: clocks and pipes */
  double elapsed = 0;
  while (elapsed < seconds / 3) { passes *= 2; double t = now(); kernel(passes); elapsed = now() - t; }
  double best = 0;
  for (int round = 0; round < 3; round++) {
    double t = now();
#pragma omp parallel num_threads(threads)
    kernel(passes);
    double r = (double)passes * threads / (now() - t);
    if (r > best) best = r;
  }
  return best;
}

int main(int argc, char **argv) {
  int threads = atoi(argv[1]); double seconds = atof(argv[2]);
  printf("{\"fp32\": %.6e, \"int8\": %.6e, \"int16\": %.6e}\n",
         rate(fp32, seconds, threads), rate(int8, seconds, threads), rate(int16, seconds, threads));
  return 0;
}
"""


def peak_rates(threads: int = 2, seconds: float = 0.5) -> dict[str, float] | None:
    """Peak multiply-adds per second for each precision on ``threads`` cores; None without gcc or AVX2."""
    compiler = shutil.which("gcc")
    if compiler is None or "avx2" not in Path("/proc/cpuinfo").read_text():
        return None
    with tempfile.TemporaryDirectory() as work:
        source, binary = Path(work) / "peak.c", Path(work) / "peak"
        source.write_text(_KERNEL)
        subprocess.run([compiler, "-O2", "-mavx2", "-mfma", "-fopenmp", str(source), "-o", str(binary)],
                       check=True, capture_output=True)
        result = subprocess.run([str(binary), str(threads), str(seconds)], check=True, capture_output=True,
                                text=True)
    passes = json.loads(result.stdout)
    return {precision: passes[precision] * macs for precision, macs in MACS_PER_PASS.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    for threads in sorted({1, args.threads}):
        rates = peak_rates(threads, args.seconds)
        if rates is None:
            raise SystemExit("needs gcc and an AVX2 CPU")
        print(f"{threads} thread(s): " + ", ".join(f"{p} {r / 1e9:.1f} G multiply-adds/s" for p, r in rates.items()))


if __name__ == "__main__":
    main()
