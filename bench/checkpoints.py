"""Random-weight Detoxify checkpoints with the real architectures and sizes, for benchmarks.

Speed and memory do not depend on weight values, so these stand in for the released models (which need a
download): ``unbiased`` = roberta-base, 16 outputs; ``original`` = bert-base-uncased, 6 outputs. Tokenizers
are trained locally on generated comments (vocab sized so English comes out at ~1.3 tokens per word, like
the real tokenizers); embedding matrices keep the real vocabulary size. The classifier head is scaled so
probabilities spread over 0..1 and the int8 agreement check is not trivially met at p ~ 0.5.

    python -m bench.checkpoints [--out bench/out]   # prints the checkpoint paths
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.tiny_detoxify import ORIGINAL_LABELS, UNBIASED_LABELS, build_checkpoint  # noqa: E402

DEFAULT_OUT = ROOT / "bench" / "out"
HEAD_SCALE = 10.0

SPECS = {
    # roberta-base: 12 layers, hidden 768, 12 heads, 3072 FFN, vocab 50265, 514 positions, 1 token type
    # Like the released checkpoint: 7 named classes, 16 outputs (the 9 identity heads are never returned)
    "unbiased": dict(arch="roberta", classes=UNBIASED_LABELS, outputs=16, hidden=768, layers=12,
                     heads=12, intermediate=3072, model_vocab_size=50265, vocab_size=800,
                     config_overrides={"type_vocab_size": 1, "layer_norm_eps": 1e-5}),
    # bert-base-uncased: 12 layers, hidden 768, 12 heads, 3072 FFN, vocab 30522, 512 positions
    "original": dict(arch="bert", classes=ORIGINAL_LABELS, hidden=768, layers=12, heads=12, intermediate=3072,
                     model_vocab_size=30522, vocab_size=450),
}


def ensure_checkpoint(name: str, out: Path = DEFAULT_OUT) -> tuple[str, str]:
    """Build (once) and return ``(checkpoint_path, config_dir)`` for a benchmark model."""
    directory = Path(out) / name
    marker = directory / "built.json"
    if marker.exists():
        built = json.loads(marker.read_text())
        return built["checkpoint"], built["config_dir"]
    started = time.perf_counter()
    checkpoint, config_dir = build_checkpoint(directory, head_scale=HEAD_SCALE, seed=1,
                                              corpus_lines=2000, **SPECS[name])
    marker.write_text(json.dumps({"checkpoint": checkpoint, "config_dir": config_dir,
                                  "seconds": round(time.perf_counter() - started, 1)}))
    return checkpoint, config_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("models", nargs="*", default=list(SPECS))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    for name in args.models:
        checkpoint, config_dir = ensure_checkpoint(name, Path(args.out))
        print(f"{name}: {checkpoint} ({os.path.getsize(checkpoint) / 1e6:.0f} MB), config {config_dir}")


if __name__ == "__main__":
    main()
